// Which readers the lag probes watch, and with which credentials: every reader of every tenant
// with a read endpoint, keyed by endpoint, with the targets (tenant credentials at that reader)
// a probe may log in with. Several tenants' logins, so that one tenant breaking its own role
// (password changed, role dropped) does not blind the probe for the others (reader-lag.ts).
import type { Snapshot } from '../config/snapshot.ts';
import type { ServerTarget } from './connect.ts';
import { endpointKey } from './reader-lag.ts';

/** Logins kept per reader: enough to survive a few broken roles, bounded whatever the tenant count. */
const MAX_LOGINS_PER_READER = 8;

export function readerLogins(snapshot: Snapshot): Map<string, ServerTarget[]> {
  const out = new Map<string, ServerTarget[]>();
  for (const route of snapshot.byId.values()) {
    if (route.read === undefined || route.status !== 'active') continue;
    for (const target of route.read.readers) {
      const key = endpointKey(target);
      let list = out.get(key);
      if (list === undefined) out.set(key, (list = []));
      if (list.length < MAX_LOGINS_PER_READER) list.push(target);
    }
  }
  return out;
}
