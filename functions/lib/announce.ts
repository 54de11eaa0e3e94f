// After a stored change: bump the fleet's config version, then push a reload (ports/config-channel.ts
// ordering contract: store first, then version, then push). The bump must succeed — it is how
// poolers learn of the change, so its failure fails the request and the client's retry (idempotent)
// bumps again. The push is only a shortcut past the poolers' jittered poll, so its failure is logged.
import type { Adapters } from '../../shared/src/ports/adapters.ts';
import type { Logger } from './logger.ts';

export interface Announcement {
  configVersion: number;
  pushed: boolean;
}

export async function announceChange(adapters: Pick<Adapters, 'config'>, log: Logger): Promise<Announcement> {
  const configVersion = await adapters.config.bumpConfigVersion();
  try {
    const r = await adapters.config.pushReload();
    log.info({ configVersion, commandId: r.commandId, signalled: r.signalled }, 'config version bumped, reload pushed');
    return { configVersion, pushed: true };
  } catch (err) {
    log.warn({ configVersion, err: { name: (err as Error).name, message: (err as Error).message } }, 'reload push failed; poolers will pick the change up by polling');
    return { configVersion, pushed: false };
  }
}
