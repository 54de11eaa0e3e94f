// Tenants: one page of tenants at a time (the API pages with a cursor), filtered as you type;
// an exact tenant id not on this page is looked up with GET /tenants/{id}. Create, and each
// tenant's actions (tenant-actions.tsx).
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, type Cluster, type CreatedTenant, type Tenant, type TenantPage } from '../api.ts';
import { Badge, ErrorBox, FormFoot, Modal } from '../components.tsx';
import type { ConsoleEnv } from '../env.ts';
import { PasswordOnce, TenantActions } from './tenant-actions.tsx';

const PAGE_SIZE = 20;

export function statusBadge(s: string) {
  return <Badge kind={s === 'active' ? 'ok' : s === 'suspended' ? 'warn' : 'bad'}>{s}</Badge>;
}

export function TenantsPage({ env }: { env: ConsoleEnv }) {
  const [page, setPage] = useState<TenantPage>();
  // Cursors of the pages before this one (the API pages forwards only).
  const [trail, setTrail] = useState<(string | undefined)[]>([]);
  const [cursor, setCursor] = useState<string | undefined>();
  const [query, setQuery] = useState('');
  const [found, setFound] = useState<Tenant | null>();
  const [error, setError] = useState<unknown>();
  const [creating, setCreating] = useState(false);
  const [loading, setLoading] = useState(true);

  const load = async (c: string | undefined = cursor): Promise<void> => {
    setLoading(true);
    try {
      const qs = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (c) qs.set('cursor', c);
      setPage(await api<TenantPage>('GET', `/tenants?${qs}`));
      setError(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void load(cursor), [cursor]);

  const q = query.trim().toLowerCase();
  const items = (page?.items ?? []).filter((t) => !q || t.tenantId.includes(q) || t.client.database.toLowerCase().includes(q) || t.client.user.toLowerCase().includes(q));
  const lookup = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (!/^[a-z0-9][a-z0-9-]{2,62}$/.test(q) || items.some((t) => t.tenantId === q)) return;
    try {
      setFound(await api<Tenant>('GET', `/tenants/${q}`));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setFound(null);
      else setError(err);
    }
  };
  const shown = found && !items.some((t) => t.tenantId === found.tenantId) ? [found, ...items] : items;
  const replace = (t: Tenant): void => {
    setPage((p) => p && { ...p, items: p.items.map((x) => (x.tenantId === t.tenantId ? t : x)) });
    if (found?.tenantId === t.tenantId) setFound(t);
  };

  return (
    <section class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Tenants</h1>
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          Create tenant
        </button>
      </div>
      <form class="search" role="search" onSubmit={lookup}>
        <label for="tenant-search">Search tenants</label>
        <input
          id="tenant-search"
          type="search"
          placeholder="tenant id, database or user — Enter looks an exact id up"
          value={query}
          onInput={(e) => {
            setQuery((e.target as HTMLInputElement).value);
            setFound(undefined);
          }}
        />
      </form>
      <ErrorBox error={error} />
      {found === null && <p class="muted">No tenant "{q}".</p>}
      <table class="tenants" aria-busy={loading}>
        <caption class="sr-only">Tenants on this page</caption>
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            <th scope="col">Status</th>
            <th scope="col">Client login</th>
            <th scope="col">Destination</th>
            <th scope="col">Pool</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {shown.map((t) => (
            <tr key={t.tenantId} data-tenant={t.tenantId}>
              <th scope="row">
                <a href={`#/tenants/${t.tenantId}`}>{t.tenantId}</a>
              </th>
              <td>{statusBadge(t.status)}</td>
              <td class="mono">
                {t.client.user}@{t.client.database}
              </td>
              <td class="mono">
                {t.destination.clusterId ? `cluster ${t.destination.clusterId}` : `${t.destination.host}:${t.destination.port ?? 5432}`} / {t.destination.schema ? `${t.destination.database}.${t.destination.schema}` : t.destination.database}
              </td>
              <td>
                {t.pool.mode}, {t.pool.size}
              </td>
              <td>
                <TenantActions env={env} tenant={t} onChanged={replace} onDeleted={() => void load()} />
              </td>
            </tr>
          ))}
          {!loading && shown.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                {q ? 'No tenant on this page matches.' : 'No tenants yet.'}
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={trail.length === 0} onClick={() => (setCursor(trail[trail.length - 1]), setTrail(trail.slice(0, -1)))}>
          ← Previous
        </button>
        <span>Page {trail.length + 1}</span>
        <button type="button" disabled={!page?.cursor} onClick={() => (setTrail([...trail, cursor]), setCursor(page?.cursor))}>
          Next →
        </button>
      </nav>
      {creating && <CreateDialog env={env} onClose={() => setCreating(false)} onCreated={() => void load()} />}
    </section>
  );
}

function CreateDialog({ env, onClose, onCreated }: { env: ConsoleEnv; onClose: () => void; onCreated: () => void }) {
  const [clusters, setClusters] = useState<Cluster[]>([]);
  const [f, setF] = useState({ tenantId: '', database: '', user: '', clusterId: '', provision: true, mode: 'transaction', size: '20', md5: false });
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState<CreatedTenant>();
  useEffect(() => {
    api<{ items: Cluster[] }>('GET', '/clusters')
      .then((r) => {
        setClusters(r.items);
        setF((x) => ({ ...x, clusterId: x.clusterId || r.items[0]?.clusterId || '' }));
      })
      .catch(setError);
  }, []);
  const set = (k: keyof typeof f) => (e: Event) => {
    const el = e.target as HTMLInputElement;
    setF({ ...f, [k]: el.type === 'checkbox' ? el.checked : el.value });
  };
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = {
        tenantId: f.tenantId.trim(),
        client: { database: f.database.trim() || f.tenantId.trim(), user: f.user.trim() || f.tenantId.trim(), md5: f.md5 },
        destination: { clusterId: f.clusterId },
        pool: { mode: f.mode, size: Number(f.size) },
        provision: f.provision,
      };
      const r = await api<CreatedTenant>('POST', '/tenants', body);
      setCreated(r);
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  if (created) {
    return (
      <Modal title={`Tenant ${created.tenant.tenantId} created`} onClose={onClose} wide>
        {created.password ? <PasswordOnce env={env} tenant={created.tenant} password={created.password} /> : <p>The tenant exists already with these settings (an idempotent retry); its password was shown when it was created.</p>}
        <div class="dialog-foot">
          <a href={`#/tenants/${created.tenant.tenantId}`} onClick={onClose}>
            Open its page
          </a>
          <button type="button" class="primary" onClick={onClose}>
            Done
          </button>
        </div>
      </Modal>
    );
  }
  return (
    <Modal title="Create a tenant" onClose={onClose}>
      <form onSubmit={submit} class="grid-form">
        <label for="new-id">Tenant id</label>
        <input id="new-id" required pattern="[a-z0-9][a-z0-9\-]{2,62}" title="3–63 characters: lower-case letters, digits, hyphens" value={f.tenantId} onInput={set('tenantId')} autoFocus />
        <label for="new-db">Client database</label>
        <input id="new-db" placeholder="same as the tenant id" value={f.database} onInput={set('database')} />
        <label for="new-user">Client user</label>
        <input id="new-user" placeholder="same as the tenant id" value={f.user} onInput={set('user')} />
        <label for="new-cluster">Cluster</label>
        <select id="new-cluster" value={f.clusterId} onChange={set('clusterId')}>
          {clusters.map((c) => (
            <option value={c.clusterId}>{c.clusterId}</option>
          ))}
        </select>
        <label for="new-mode">Pool mode</label>
        <select id="new-mode" value={f.mode} onChange={set('mode')}>
          <option value="transaction">transaction</option>
          <option value="session">session</option>
        </select>
        <label for="new-size">Pool size</label>
        <input id="new-size" inputMode="numeric" value={f.size} onInput={set('size')} />
        <span />
        <label class="check">
          <input type="checkbox" checked={f.provision} onChange={set('provision')} /> Create its database and role on the cluster
        </label>
        <span />
        <label class="check">
          <input type="checkbox" checked={f.md5} onChange={set('md5')} /> Also allow md5 logins (old clients)
        </label>
        <FormFoot error={error} busy={busy} onCancel={onClose} label="Create" busyLabel="Creating…" />
      </form>
    </Modal>
  );
}
