// The dependency container of every handler: the shared adapters (built once per Lambda container,
// lazily, from the environment), a logger, a clock and a way to open a PostgreSQL session to a target.
// Handler files export `makeHandler(deps)` and `handler = makeHandler(defaultDeps)`; tests call
// makeHandler with local adapters on a temp dir (or AWS adapters pointed at moto).
//
// Environment (set by the stack):
//   SWITCHYARD_TABLE, SWITCHYARD_KMS_KEY_ID, SWITCHYARD_STAGE, SWITCHYARD_POOLER_TAG  AWS mode
//   SWITCHYARD_LOCAL_STATE_DIR   local mode: createLocalAdapters(dir) instead of AWS
//   SWITCHYARD_TARGET_SSLMODE    disable | require | verify-full (see pg-target.ts)
//   SWITCHYARD_LOG_LEVEL         pino level (default info)
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import { createLogger, type Logger } from './logger.ts';
import { createPgConnect, sslModeFromEnv, type PgConnect } from './pg-target.ts';

export interface Deps {
  adapters: Adapters;
  log: Logger;
  now: () => Date;
  /** Opens a session to a target database (provisioning, purge, metrics). */
  pg: PgConnect;
}

/** Builds Deps around given adapters with the production defaults for everything else. */
export function depsWith(adapters: Adapters, overrides: Partial<Omit<Deps, 'adapters'>> = {}): Deps {
  return {
    adapters,
    log: overrides.log ?? createLogger(),
    now: overrides.now ?? (() => new Date()),
    pg: overrides.pg ?? createPgConnect({ ssl: sslModeFromEnv() }),
  };
}

async function adaptersFromEnv(env: NodeJS.ProcessEnv): Promise<Adapters> {
  const stateDir = env.SWITCHYARD_LOCAL_STATE_DIR;
  if (stateDir) {
    const { createLocalAdapters } = await import('../../shared/src/local/adapters.ts');
    return createLocalAdapters(stateDir);
  }
  // Imported lazily so local mode never loads the AWS SDK.
  const { createAwsAdapters } = await import('../../shared/src/aws/adapters.ts');
  return createAwsAdapters(env);
}

let cached: Promise<Deps> | undefined;

/**
 * The process-wide deps, built on first use and reused by later invocations of a warm container.
 * A failed build is not cached, so the next invocation tries again.
 */
export function defaultDeps(): Promise<Deps> {
  cached ??= adaptersFromEnv(process.env).then(
    (adapters) => depsWith(adapters),
    (err: unknown) => {
      cached = undefined;
      throw err;
    },
  );
  return cached;
}
