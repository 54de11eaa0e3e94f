// What can be done to one tenant: rotate the password (with a grace period), suspend/resume,
// change pool settings, delete (optionally purging its database and role). Used by the tenants list
// and the tenant page; every API error is shown in the dialog with its code and message.
import { useState } from 'preact/hooks';
import { api, type Tenant } from '../api.ts';
import { CopyField, ErrorBox, FormFoot, Modal } from '../components.tsx';
import { connectionString, psqlLine } from '../connection.ts';
import type { ConsoleEnv } from '../env.ts';

type Dialog = 'rotate' | 'pool' | 'delete' | undefined;

export function PasswordOnce({ env, tenant, password }: { env: ConsoleEnv; tenant: Tenant; password: string }) {
  return (
    <div class="password-once">
      <p class="notice" role="status">
        This password is shown <strong>once</strong>: the API keeps only a verifier. Copy it now.
      </p>
      <CopyField label="Password" value={password} secret />
      <CopyField label="Connection string" value={connectionString(env, tenant, password)} />
      <CopyField label="psql" value={psqlLine(env, tenant, password)} />
    </div>
  );
}

export function TenantActions({ env, tenant, onChanged, onDeleted }: { env: ConsoleEnv; tenant: Tenant; onChanged: (t: Tenant) => void; onDeleted: () => void }) {
  const [dialog, setDialog] = useState<Dialog>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const suspended = tenant.status === 'suspended';

  const toggle = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      onChanged(await api<Tenant>('PATCH', `/tenants/${tenant.tenantId}`, { version: tenant.version, status: suspended ? 'active' : 'suspended' }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="actions">
      <button type="button" onClick={() => setDialog('rotate')} aria-label={`Rotate password of ${tenant.tenantId}`}>
        Rotate password
      </button>
      <button type="button" disabled={busy || tenant.status === ('deleting' as string)} onClick={toggle} aria-label={`${suspended ? 'Resume' : 'Suspend'} ${tenant.tenantId}`}>
        {suspended ? 'Resume' : 'Suspend'}
      </button>
      <button type="button" onClick={() => setDialog('pool')} aria-label={`Pool settings of ${tenant.tenantId}`}>
        Pool settings
      </button>
      <button type="button" class="danger" onClick={() => setDialog('delete')} aria-label={`Delete ${tenant.tenantId}`}>
        Delete
      </button>
      <ErrorBox error={error} />
      {dialog === 'rotate' && <RotateDialog env={env} tenant={tenant} onClose={() => setDialog(undefined)} onChanged={onChanged} />}
      {dialog === 'pool' && <PoolDialog tenant={tenant} onClose={() => setDialog(undefined)} onChanged={onChanged} />}
      {dialog === 'delete' && <DeleteDialog tenant={tenant} onClose={() => setDialog(undefined)} onDeleted={onDeleted} />}
    </div>
  );
}

function RotateDialog({ env, tenant, onClose, onChanged }: { env: ConsoleEnv; tenant: Tenant; onClose: () => void; onChanged: (t: Tenant) => void }) {
  const [grace, setGrace] = useState('3600');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ tenant: Tenant; password: string }>();
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const r = await api<{ tenant: Tenant; password?: string }>('POST', `/tenants/${tenant.tenantId}/rotate-password`, { graceSeconds: Number(grace) });
      onChanged(r.tenant);
      setResult({ tenant: r.tenant, password: r.password ?? '' });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={`Rotate the password of ${tenant.tenantId}`} onClose={onClose} wide={!!result}>
      {result ? (
        <>
          <PasswordOnce env={env} tenant={result.tenant} password={result.password} />
          <p class="muted">
            {result.tenant.auth.previousPasswordExpiresAt ? `The previous password keeps working until ${new Date(result.tenant.auth.previousPasswordExpiresAt).toLocaleString()}.` : 'The previous password no longer works.'}
          </p>
          <div class="dialog-foot">
            <button type="button" class="primary" onClick={onClose}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form onSubmit={submit}>
          <p>A new password is generated. Clients that still use the old one can keep logging in during the grace period.</p>
          <label for="grace">Grace period for the old password</label>
          <select id="grace" value={grace} onChange={(e) => setGrace((e.target as HTMLSelectElement).value)}>
            <option value="0">none — the old password stops working now</option>
            <option value="300">5 minutes</option>
            <option value="3600">1 hour (default)</option>
            <option value="86400">1 day</option>
            <option value="604800">7 days (longest)</option>
          </select>
          <FormFoot error={error} busy={busy} onCancel={onClose} label="Rotate" busyLabel="Rotating…" />
        </form>
      )}
    </Modal>
  );
}

const POOL_FIELDS = [
  ['size', 'Pool size (server connections)'],
  ['minIdle', 'Minimum idle connections'],
  ['maxClients', 'Maximum clients'],
  ['checkoutTimeout', 'Checkout timeout (s)'],
  ['idleTimeout', 'Idle server timeout (s)'],
  ['maxLifetime', 'Server connection lifetime (s)'],
  ['connectTimeout', 'Connect timeout (s)'],
] as const;

function PoolDialog({ tenant, onClose, onChanged }: { tenant: Tenant; onClose: () => void; onChanged: (t: Tenant) => void }) {
  const [mode, setMode] = useState(tenant.pool.mode);
  const [values, setValues] = useState<Record<string, string>>(Object.fromEntries(POOL_FIELDS.map(([k]) => [k, String(tenant.pool[k] ?? '')])));
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    const pool: Record<string, unknown> = {};
    if (mode !== tenant.pool.mode) pool.mode = mode;
    for (const [k] of POOL_FIELDS) {
      const v = values[k]?.trim() ?? '';
      if (v !== '' && v !== String(tenant.pool[k] ?? '')) pool[k] = Number(v);
    }
    try {
      onChanged(await api<Tenant>('PATCH', `/tenants/${tenant.tenantId}`, { version: tenant.version, pool }));
      onClose();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={`Pool settings of ${tenant.tenantId}`} onClose={onClose}>
      <form onSubmit={submit} class="grid-form">
        <label for="pool-mode">Pool mode</label>
        <select id="pool-mode" value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value as Tenant['pool']['mode'])}>
          <option value="transaction">transaction</option>
          <option value="session">session</option>
        </select>
        {POOL_FIELDS.map(([k, label]) => (
          <>
            <label for={`pool-${k}`}>{label}</label>
            <input id={`pool-${k}`} inputMode="decimal" value={values[k]} onInput={(e) => setValues({ ...values, [k]: (e.target as HTMLInputElement).value })} />
          </>
        ))}
        <FormFoot error={error} busy={busy} onCancel={onClose} label="Save" busyLabel="Saving…" />
      </form>
    </Modal>
  );
}

function DeleteDialog({ tenant, onClose, onDeleted }: { tenant: Tenant; onClose: () => void; onDeleted: () => void }) {
  const [purge, setPurge] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await api('DELETE', `/tenants/${tenant.tenantId}${purge ? '?purge=true' : ''}`);
      onClose();
      onDeleted();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={`Delete ${tenant.tenantId}`} onClose={onClose}>
      <form onSubmit={submit}>
        <p>The tenant's clients are disconnected at their next transaction boundary and no new ones are accepted.</p>
        <label class="check">
          <input type="checkbox" checked={purge} onChange={(e) => setPurge((e.target as HTMLInputElement).checked)} />
          Also drop its {tenant.destination.schema ? `schema ${tenant.destination.schema}` : `database ${tenant.destination.database}`} and role {tenant.destination.user} on the cluster (purge). This cannot be undone.
        </label>
        <label for="confirm-id">
          Type <code>{tenant.tenantId}</code> to confirm
        </label>
        <input id="confirm-id" autoComplete="off" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} />
        <FormFoot error={error} busy={busy} onCancel={onClose} label={purge ? 'Delete and purge' : 'Delete'} busyLabel="Deleting…" kind="danger" disabled={typed !== tenant.tenantId} />
      </form>
    </Modal>
  );
}
