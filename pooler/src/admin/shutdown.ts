// SHUTDOWN: the same drain as SIGTERM (Pooler.close): stop accepting, let open transactions finish
// within limits.shutdown_timeout, then close everything, this console session included. PgBouncer
// exits without answering; we answer "SHUTDOWN" first so scripts can tell it was accepted. The
// drain starts after the reply is written (the session calls `after`).
import type { AdminHost } from './host.ts';
import type { AdminReply } from './result.ts';

export function shutdown(host: AdminHost): { reply: AdminReply; after: () => void } {
  return {
    reply: { kind: 'tag', tag: 'SHUTDOWN' },
    after: () => {
      void host.close();
    },
  };
}
