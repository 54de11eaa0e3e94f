// SHOW CONFIG: the running configuration as key/value/default/changeable rows (PgBouncer 1.18
// columns). Keys are our config keys, dotted (listen.port, limits.shutdown_timeout, ...). Tenants
// are summarised (SHOW DATABASES lists them); secrets — verifiers, destination passwords, TLS keys —
// are never shown: only admin user names appear. `changeable` says whether a reload applies it.
// `applied_config_version` is the control plane's published config version applied last (local/aws
// sources; 0 with a file source): the same value, under the same name, as the metric
// switchyard_applied_config_version and the heartbeat's appliedConfigVersion.
import { configSchema, type PoolerConfig } from '../config/schema.ts';
import type { AdminHost } from './host.ts';
import { cols, rows, TEXT, type AdminReply, type Cell } from './result.ts';

export const SHOW_CONFIG_COLUMNS = cols(['key', TEXT], ['value', TEXT], ['default', TEXT], ['changeable', TEXT]);

/** Settings read afresh after a reload; everything else is fixed at start-up. */
const CHANGEABLE = new Set([
  'limits.max_message_size',
  'limits.shutdown_timeout',
  'limits.max_client_conn',
  'limits.max_unauthenticated_per_address',
  'limits.max_server_scram_iterations',
  'admin.users',
  'tenants',
  'tenants.skipped',
  'applied_config_version',
]);
/** Never shown, at any depth: anything named like a secret (file paths such as tls.key_file are fine). */
const HIDDEN = /(password|secret|token|verifier|passphrase|credential)[^.]*$/i;

function flatten(value: unknown, prefix: string, out: Map<string, string>): void {
  if (value === undefined) return;
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !Buffer.isBuffer(value)) {
    for (const [k, v] of Object.entries(value)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (!HIDDEN.test(key)) flatten(v, key, out);
    }
    return;
  }
  if (Array.isArray(value)) {
    out.set(prefix, value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(','));
    return;
  }
  out.set(prefix, String(value));
}

function settings(config: PoolerConfig): Map<string, string> {
  const { tenants, admin, ...rest } = config;
  const out = new Map<string, string>();
  flatten(rest, '', out);
  out.set('admin.users', [...new Set(admin.users.map((u) => u.user))].join(','));
  out.set('tenants', String(tenants.length));
  return out;
}

export function showConfig(host: AdminHost): AdminReply {
  const current = settings(host.config);
  const defaults = settings(configSchema.parse({}));
  // Tenants of the configuration that are not served (config/snapshot.ts): id (reason); ...
  current.set('tenants.skipped', (host.snapshot().skipped ?? []).map((t) => `${t.id} (${t.reason})`).join('; '));
  defaults.set('tenants.skipped', '');
  current.set('applied_config_version', String(host.appliedConfigVersion ?? 0));
  defaults.set('applied_config_version', '0');
  const keys = [...new Set([...current.keys(), ...defaults.keys()])].sort();
  const data: Cell[][] = keys.map((k) => [k, current.get(k) ?? null, defaults.get(k) ?? null, CHANGEABLE.has(k) ? 'yes' : 'no']);
  return rows(SHOW_CONFIG_COLUMNS, data);
}
