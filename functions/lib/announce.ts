// After a stored change: bump the fleet's config version, then push a reload (ports/config-channel.ts
// ordering contract: store first, then version, then push). The bump is how poolers learn of the
// change (they poll the version), so it is retried a bounded number of times; the push is only a
// shortcut past the poolers' jittered poll, so its failure is logged.
//
// Two callers, two answers to a bump that keeps failing:
// - announceChange throws (the failover functions: EventBridge / the next minute retries them);
// - announceCommitted, for API handlers whose change is already committed, never throws: the
//   request succeeded (a 500 now would lose a one-time password, and the client's retry could not
//   repeat the change), so the response says so in a `warning` (CONFIG_NOT_PUBLISHED). The change is
//   not lost: any later bump (the next API change, the reconcile's republish) makes the poolers load
//   the whole stored state, and the reconcile publishes a version the bump allocated but could not
//   publish (ConfigChannel.catchUpConfigVersion). docs/errors.md, "Warnings".
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import type { Logger } from './logger.ts';

export interface Announcement {
  configVersion: number;
  pushed: boolean;
}

export interface AnnounceOptions {
  /** Pauses between bump attempts, ms; its length + 1 is the number of attempts. */
  retryDelaysMs?: readonly number[];
}

/** Three attempts, at most 1 s of waiting: well inside the API functions' 10 s timeout. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [200, 800];

/** A committed change the poolers were not told about (2xx responses carry it as `warning`). */
export interface ApiWarning {
  code: 'CONFIG_NOT_PUBLISHED';
  message: string;
}

export const CONFIG_NOT_PUBLISHED: ApiWarning = {
  code: 'CONFIG_NOT_PUBLISHED',
  message:
    'the change is stored, but the new configuration version could not be published, so poolers have not been told yet; ' +
    'they load it with the next published change (any later change, or the scheduled reconcile within minutes)',
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Name and message only: an AWS SDK error object carries request metadata not worth a log line. */
export function errSummary(err: unknown): { name: string; message: string } {
  return err instanceof Error ? { name: err.name, message: err.message } : { name: 'unknown', message: String(err) };
}

/**
 * Runs `op`, retrying after each pause in `delays` (so delays.length + 1 attempts); the last error
 * is thrown. For idempotent steps that follow a commit (bump, publish, delete targets).
 */
export async function withRetries<T>(op: () => Promise<T>, log: Logger, what: string, delays: readonly number[] = DEFAULT_RETRY_DELAYS_MS): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (attempt >= delays.length) throw err;
      log.warn({ attempt: attempt + 1, err: errSummary(err) }, `${what} failed; retrying`);
      await sleep(delays[attempt]!);
    }
  }
}

export async function announceChange(adapters: Pick<Adapters, 'config'>, log: Logger, opts: AnnounceOptions = {}): Promise<Announcement> {
  const configVersion = await withRetries(() => adapters.config.bumpConfigVersion(), log, 'config version bump', opts.retryDelaysMs);
  try {
    const r = await adapters.config.pushReload();
    log.info({ configVersion, commandId: r.commandId, signalled: r.signalled }, 'config version bumped, reload pushed');
    return { configVersion, pushed: true };
  } catch (err) {
    log.warn({ configVersion, err: errSummary(err) }, 'reload push failed; poolers will pick the change up by polling');
    return { configVersion, pushed: false };
  }
}

/** For a change already committed: the warning to return instead of failing, or undefined when announced. */
export async function announceCommitted(adapters: Pick<Adapters, 'config'>, log: Logger, opts: AnnounceOptions = {}): Promise<ApiWarning | undefined> {
  try {
    await announceChange(adapters, log, opts);
    return undefined;
  } catch (err) {
    log.error({ err: errSummary(err), warning: CONFIG_NOT_PUBLISHED.code }, 'config version bump failed after every attempt; the change is stored but not announced');
    return CONFIG_NOT_PUBLISHED;
  }
}
