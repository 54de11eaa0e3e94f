// RELOAD: re-reads the configuration through the config-source controller's reload
// (SourceController.reload, the one entry point SIGHUP, a pushed config version and the
// supervisor's `reload` message use too) and answers once it is applied; a configuration that
// fails validation is refused and the running one stays (docs/architecture.md, "A reload").
// With several workers the console's RELOAD does not come here: the worker asks the supervisor,
// whose typed `reload` reaches each worker's controller through reloadReply (cluster/worker.ts).
import type { AdminHost } from './host.ts';
import { AdminError, tag, type AdminReply } from './result.ts';

export async function reload(host: AdminHost): Promise<AdminReply> {
  if (host.requestReload === undefined) throw new AdminError('RELOAD_FAILED', 'this pooler has no configuration source to reload from');
  return reloadReply(() => host.requestReload!());
}

/** Runs one reload: the RELOAD reply, or RELOAD_FAILED (the running configuration stays). */
export async function reloadReply(run: () => Promise<void>): Promise<AdminReply> {
  try {
    await run();
  } catch (err) {
    if (err instanceof AdminError) throw err;
    throw new AdminError('RELOAD_FAILED', `reload failed, the running configuration stays: ${(err as Error).message}`);
  }
  return tag('RELOAD');
}
