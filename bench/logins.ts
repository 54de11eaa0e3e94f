// Pooler CPU per SCRAM login: N clients log in (SCRAM-SHA-256 against the stored verifier), run
// nothing and leave, `concurrency` at a time; the pooler tree's CPU (/proc) over those N logins
// divided by N. The clients' own PBKDF2 runs in this (bench) process, not in the pooler, so it
// slows the rate (logins/s, also reported) but not the pooler's figure.
import pg from 'pg';
import type { PoolerProcess } from './pooler-process.ts';
import { clockTicksPerSecond, treeCpuTicks } from './proc-stat.ts';

export interface LoginResult {
  target: string;
  logins: number;
  failed: number;
  /** Pooler CPU per completed login, µs. */
  cpuUsPerLogin?: number;
  loginsPerSec?: number;
  error?: string;
}

export async function measureLogins(pooler: PoolerProcess, n: number, concurrency = 16): Promise<LoginResult> {
  const result: LoginResult = { target: pooler.name, logins: 0, failed: 0 };
  const once = async (): Promise<boolean> => {
    const c = new pg.Client({ ...pooler.login, connectionTimeoutMillis: 30_000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.end();
      return true;
    } catch (err) {
      result.error ??= (err as Error).message;
      await c.end().catch(() => {});
      return false;
    }
  };
  // A few logins first: lazily loaded code and the first server connection are not per login.
  for (let i = 0; i < 5; i++) await once();
  const hz = clockTicksPerSecond();
  let next = 0;
  const t0 = performance.now();
  const ticks0 = treeCpuTicks(pooler.pid);
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      if (await once()) result.logins++;
      else result.failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const ticks = treeCpuTicks(pooler.pid) - ticks0;
  const sec = (performance.now() - t0) / 1000;
  if (result.logins > 0) {
    result.cpuUsPerLogin = ((ticks / hz) * 1e6) / result.logins;
    result.loginsPerSec = result.logins / sec;
  }
  return result;
}
