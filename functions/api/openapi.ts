// GET /openapi.json — the API description, generated from the handlers' own zod schemas.
import type { Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { createLogger } from '../lib/logger.ts';
import { openApiDocument } from '../lib/openapi.ts';

type OpenApiDeps = Pick<Deps, 'log'>;

export async function getOpenApi(_req: ApiRequest, _deps: OpenApiDeps): Promise<ApiResponse> {
  return { status: 200, body: openApiDocument(), headers: { 'cache-control': 'public, max-age=300' } };
}

export function makeHandler(deps: DepsSource<OpenApiDeps>) {
  return apiHandler(deps, getOpenApi);
}

// Needs only a logger, so serving the document never builds AWS clients.
let log: Deps['log'] | undefined;
export const handler = makeHandler(() => ({ log: (log ??= createLogger()) }));
