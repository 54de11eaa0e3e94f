// The API-backed commands (tenants, clusters, status) and their exit statuses:
//   0 done · 1 the API refused or failed (its code and message are shown) · 2 usage error ·
//   3 the API could not be reached.
import { ApiClient, ApiError, ApiUnreachableError, stateDirOf } from './api-client.ts';
import { apiTokenPath, readApiToken } from '../local/api-token.ts';
import { UsageError } from '../shared/src/usage-error.ts';
import { clustersCommand } from './clusters.ts';
import { json, type Io } from './output.ts';
import { statusCommand } from './status.ts';
import { tenantsCommand } from './tenants.ts';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** --api from anywhere in argv (parsed again, strictly, by each command). */
function apiFlag(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--api') return argv[i + 1];
    if (a.startsWith('--api=')) return a.slice('--api='.length);
  }
  return undefined;
}

/** Where the token the API refused came from, and how to send the right one. */
function tokenHint(env: NodeJS.ProcessEnv, api: ApiClient): string {
  if (env.SWITCHYARD_API_TOKEN) return 'SWITCHYARD_API_TOKEN is not this API\'s token';
  const file = apiTokenPath(stateDirOf(env));
  const which = 'the token is read from <state dir>/api-token (SWITCHYARD_STATE_DIR names the state dir) or SWITCHYARD_API_TOKEN';
  if (readApiToken(stateDirOf(env)) === undefined) return `no token in ${file}: ${which}`;
  if (!api.hasToken) return `the token in ${file} is sent only to the API of the stack running on that state dir (its stack.json), not to ${api.baseUrl}: ${which}`;
  return `the token in ${file} is not this API's: ${which}`;
}

export async function apiCommand(command: 'tenants' | 'clusters' | 'status', argv: string[], io: Io): Promise<number> {
  const wantsJson = argv.includes('--json');
  const api = (): ApiClient => ApiClient.resolve(apiFlag(argv), io.env);
  try {
    switch (command) {
      case 'tenants':
        return await tenantsCommand(api, argv, io);
      case 'clusters':
        return await clustersCommand(api, argv, io);
      case 'status':
        return await statusCommand(api, argv, io);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`switchyard ${command}: ${err.message}\n\n${err.usage ?? ''}`);
      return EXIT.usage;
    }
    if (err instanceof ApiError) {
      if (wantsJson) io.stdout.write(json({ error: { status: err.status, code: err.code, message: err.message, ...(err.details.length > 0 ? { details: err.details } : {}) } }));
      io.stderr.write(`switchyard: ${err.message} (${err.code})\n`);
      for (const d of err.details) if (!err.message.includes(d.message)) io.stderr.write(`  ${d.path}: ${d.message}\n`);
      if (err.code === 'UNAUTHENTICATED') io.stderr.write(`  ${tokenHint(io.env, api())}\n`);
      return EXIT.failed;
    }
    if (err instanceof ApiUnreachableError) {
      if (wantsJson) io.stdout.write(json({ error: { code: err.code, message: err.message } }));
      io.stderr.write(`switchyard: ${err.message}\n`);
      return EXIT.unreachable;
    }
    io.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return EXIT.failed;
  }
}
