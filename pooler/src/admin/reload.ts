// RELOAD: re-reads the configuration through the pooler's reload hook (the same path as SIGHUP
// and the config-version poll) and answers once it is applied; a configuration that fails
// validation is refused and the running one stays (docs/architecture.md, "Reload semantics").
import type { AdminHost } from './host.ts';
import { AdminError, tag, type AdminReply } from './result.ts';

export async function reload(host: AdminHost): Promise<AdminReply> {
  if (host.requestReload === undefined) throw new AdminError('RELOAD_FAILED', 'this pooler has no configuration source to reload from');
  try {
    await host.requestReload();
  } catch (err) {
    if (err instanceof AdminError) throw err;
    throw new AdminError('RELOAD_FAILED', `reload failed, the running configuration stays: ${(err as Error).message}`);
  }
  return tag('RELOAD');
}
