// Test support: Deps around local adapters in a fresh temp dir, and a one-call way to invoke an API
// handler with an API Gateway v2 event and get status / headers / parsed JSON back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { createLocalAdapters } from '../../shared/src/local/adapters.ts';
import { depsWith, type Deps } from '../lib/deps.ts';
import type { ApiLambda } from '../lib/http.ts';
import { createLogger, type Logger } from '../lib/logger.ts';
import { createPgConnect } from '../lib/pg-target.ts';
import { apiEvent, lambdaContext, type ApiEventInit } from './test-events.ts';

export interface LocalTestDeps {
  deps: Deps;
  stateDir: string;
  cleanup(): Promise<void>;
}

export async function localTestDeps(overrides: Partial<Omit<Deps, 'adapters'>> = {}): Promise<LocalTestDeps> {
  const stateDir = mkdtempSync(join(tmpdir(), 'switchyard-cp-'));
  const adapters = await createLocalAdapters(stateDir, overrides.now ? { now: overrides.now } : {});
  const deps = depsWith(adapters, {
    // SWITCHYARD_TEST_LOG_LEVEL=debug shows the handlers' logs while debugging a test.
    log: createLogger({ level: process.env.SWITCHYARD_TEST_LOG_LEVEL ?? 'silent' }),
    // Test servers from startPostgres() have no TLS.
    pg: createPgConnect({ ssl: 'disable' }),
    ...overrides,
  });
  return {
    deps,
    stateDir,
    cleanup: async () => {
      await adapters.close();
      rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

export interface InvokeResult {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON body (undefined when there was none). */
  body: unknown;
  rawBody: string | undefined;
}

export async function invoke(handler: ApiLambda, init: ApiEventInit): Promise<InvokeResult> {
  const res: APIGatewayProxyStructuredResultV2 = await handler(apiEvent(init), lambdaContext());
  const headers = Object.fromEntries(Object.entries(res.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
  return {
    status: res.statusCode ?? 200,
    headers,
    body: res.body === undefined ? undefined : (JSON.parse(res.body) as unknown),
    rawBody: res.body,
  };
}

/** Field access on a parsed JSON body in tests (throws when the path is missing). */
export function field<T = unknown>(body: unknown, ...path: string[]): T {
  let cur: unknown = body;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || !(p in cur)) throw new Error(`response has no ${path.join('.')}`);
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur as T;
}

export interface AwsTestDepsOptions {
  /** An existing DynamoDB table with the stack's key schema. */
  table: string;
  stage: string;
  poolerTag?: string;
  now?: () => Date;
  /** Default: silent (or SWITCHYARD_TEST_LOG_LEVEL); a test that inspects the logs passes its own. */
  log?: Logger;
}

/**
 * Deps around the AWS adapters, for tests against an AWS emulator (AWS_ENDPOINT_URL must already
 * point at it): creates a KMS key and returns the deps plus the environment the handlers would get.
 */
export async function awsTestDeps(opts: AwsTestDepsOptions): Promise<{ deps: Deps; env: Record<string, string>; cleanup(): Promise<void> }> {
  const { KMSClient, CreateKeyCommand } = await import('@aws-sdk/client-kms');
  const { createAwsAdapters } = await import('../../shared/src/aws/adapters.ts');
  const kms = new KMSClient({});
  const key = await kms.send(new CreateKeyCommand({ Description: 'switchyard test' }));
  kms.destroy();
  const env = {
    SWITCHYARD_TABLE: opts.table,
    SWITCHYARD_KMS_KEY_ID: key.KeyMetadata?.KeyId ?? '',
    SWITCHYARD_STAGE: opts.stage,
    SWITCHYARD_POOLER_TAG: opts.poolerTag ?? 'switchyard:role=pooler',
  };
  const adapters = createAwsAdapters(env, opts.now ? { now: opts.now } : {});
  const deps = depsWith(adapters, {
    log: opts.log ?? createLogger({ level: process.env.SWITCHYARD_TEST_LOG_LEVEL ?? 'silent' }),
    pg: createPgConnect({ ssl: 'disable' }),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { deps, env, cleanup: () => adapters.close() };
}
