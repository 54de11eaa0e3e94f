// Where the console runs: the local stack (same origin, GET /status answers) or a deployed stage
// (/config.json written by the stacks). Read once at start.
import { api, setTransport, TOKEN_KEY } from './api.ts';

export interface ConsoleEnv {
  kind: 'local' | 'deployed';
  /** Where clients connect (for connection strings). */
  pooler?: { host: string; port: number; sslmode: string };
  stage?: string;
}

interface DeployedConfig {
  stage: string;
  apiUrl: string;
  region: string;
  userPoolId: string;
  userPoolClientId: string;
  identityPoolId: string;
  authDomain: string;
  pooler?: { host: string; port: number };
}

interface LocalStatus {
  pooler: { host: string; port: number };
}

export async function detectEnv(): Promise<ConsoleEnv> {
  // Deployed sites have /config.json; the local API answers it with an API error (no such route).
  // A local API token in this tab means the local stack: no need to ask.
  let cfg: DeployedConfig | undefined;
  if (!sessionStorage.getItem(TOKEN_KEY)) try {
    const r = await fetch('/config.json', { cache: 'no-store', credentials: 'omit' });
    if (r.ok && (r.headers.get('content-type') ?? '').includes('json')) {
      const j = (await r.json()) as Partial<DeployedConfig>;
      if (j.apiUrl && j.identityPoolId) cfg = j as DeployedConfig;
    }
  } catch {
    // not deployed
  }
  if (cfg) {
    const { signIn } = await import('./deployed-auth.ts');
    setTransport(await signIn(cfg));
    return { kind: 'deployed', stage: cfg.stage, ...(cfg.pooler ? { pooler: { ...cfg.pooler, sslmode: 'require' } } : {}) };
  }
  const env: ConsoleEnv = { kind: 'local' };
  try {
    const s = await api<LocalStatus>('GET', '/status');
    const host = s.pooler.host === '0.0.0.0' || s.pooler.host === '::' ? '127.0.0.1' : s.pooler.host;
    env.pooler = { host, port: s.pooler.port, sslmode: 'disable' };
  } catch {
    // a 401 is shown by the first page's own request
  }
  return env;
}
