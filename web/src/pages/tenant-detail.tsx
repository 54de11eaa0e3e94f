// One tenant: its settings and actions, live pool figures as time series (sampled every 2 s from
// GET /tenants/{id}/pool-stats on the local stack, or from the poolers' heartbeats deployed), and
// the database-side figures of GET /tenants/{id}/metrics (every 15 s).
import { useRef, useState } from 'preact/hooks';
import { api, ApiError, type PoolStats, type Tenant, type TenantMetrics } from '../api.ts';
import { Chart } from '../chart.tsx';
import { ErrorBox, useInterval } from '../components.tsx';
import type { ConsoleEnv } from '../env.ts';
import { bytes, when } from '../format.ts';
import { windowQuantile } from '../quantile.ts';
import { TenantActions } from './tenant-actions.tsx';
import { TenantStatementsSection } from './tenant-statements.tsx';
import { statusBadge } from './tenants.tsx';

const SAMPLE_MS = 2000;
const KEEP = 90; // 3 minutes of samples

interface Point {
  t: number;
  clientsActive: number;
  clientsWaiting: number;
  serversActive: number;
  serversIdle: number;
  tps: number;
  p50: number;
  p99: number;
}

function pointFrom(prev: PoolStats | undefined, cur: PoolStats): Point {
  const t = Date.parse(cur.at) / 1000;
  const p: Point = { t, clientsActive: cur.clients.active, clientsWaiting: cur.clients.waiting, serversActive: cur.servers.active, serversIdle: cur.servers.idle, tps: NaN, p50: NaN, p99: NaN };
  if (prev) {
    const dt = t - Date.parse(prev.at) / 1000;
    const dtx = cur.transactionsTotal - prev.transactionsTotal;
    // A counter that went down is a pool re-created (tenant removed and re-added): no rate.
    if (dt > 0 && dtx >= 0) p.tps = dtx / dt;
    const a = { ...prev.checkoutWait, checkouts: prev.checkoutsTotal };
    const b = { ...cur.checkoutWait, checkouts: cur.checkoutsTotal };
    p.p50 = (windowQuantile(a, b, 0.5) ?? 0) * 1000;
    p.p99 = (windowQuantile(a, b, 0.99) ?? 0) * 1000;
  }
  return p;
}

export function TenantDetailPage({ tenantId, env }: { tenantId: string; env: ConsoleEnv }) {
  const [tenant, setTenant] = useState<Tenant>();
  const [error, setError] = useState<unknown>();
  const [deleted, setDeleted] = useState(false);
  const [points, setPoints] = useState<Point[]>([]);
  const [poolError, setPoolError] = useState<unknown>();
  const [source, setSource] = useState<'pooler' | 'heartbeats'>(env.kind === 'local' ? 'pooler' : 'heartbeats');
  const [metrics, setMetrics] = useState<TenantMetrics>();
  const [metricsError, setMetricsError] = useState<unknown>();
  const last = useRef<PoolStats | undefined>(undefined);

  useInterval(
    () => {
      api<Tenant>('GET', `/tenants/${tenantId}`)
        .then((t) => (setTenant(t), setError(undefined)))
        .catch(setError);
    },
    10_000,
    [tenantId],
  );

  useInterval(
    () => {
      if (deleted) return;
      if (source === 'pooler') {
        api<PoolStats>('GET', `/tenants/${tenantId}/pool-stats`)
          .then((s) => {
            const p = pointFrom(last.current, s);
            last.current = s;
            setPoints((ps) => [...ps, p].slice(-KEEP));
            setPoolError(undefined);
          })
          .catch((err) => {
            // Deployed stages have no such route: fall back to the heartbeats.
            if (err instanceof ApiError && err.status === 404 && (err.code === 'HTTP_404' || /no route/.test(err.message))) setSource('heartbeats');
            else setPoolError(err);
          });
      }
    },
    SAMPLE_MS,
    [tenantId, source, deleted],
  );

  useInterval(
    () => {
      if (deleted) return;
      api<TenantMetrics>('GET', `/tenants/${tenantId}/metrics`)
        .then((m) => {
          setMetrics(m);
          setMetricsError(undefined);
          if (source === 'heartbeats') {
            const f = m.pools.total;
            setPoints((ps) => [...ps, { t: Date.now() / 1000, clientsActive: f.clientsActive, clientsWaiting: f.clientsWaiting, serversActive: f.serversActive, serversIdle: f.serversIdle, tps: NaN, p50: NaN, p99: NaN }].slice(-KEEP));
          }
        })
        .catch(setMetricsError);
    },
    source === 'heartbeats' ? 5_000 : 15_000,
    [tenantId, source, deleted],
  );

  const col = (k: keyof Point): number[] => points.map((p) => p[k]);
  const xs = col('t');
  return (
    <section class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>
          Tenant <span class="mono">{tenantId}</span> {tenant && statusBadge(tenant.status)}
        </h1>
        <a href="#/tenants">← All tenants</a>
      </div>
      <ErrorBox error={error} />
      {deleted && <p role="status">The tenant was deleted.</p>}
      {tenant && !deleted && (
        <>
          <dl class="facts">
            <dt>Client login</dt>
            <dd class="mono">
              {tenant.client.user}@{tenant.client.database}
            </dd>
            <dt>Destination</dt>
            <dd class="mono">
              {tenant.destination.clusterId ? `cluster ${tenant.destination.clusterId}` : `${tenant.destination.host}:${tenant.destination.port ?? 5432}`}, database {tenant.destination.database}
              {tenant.destination.schema ? `, schema ${tenant.destination.schema}` : ''}, role {tenant.destination.user}
            </dd>
            <dt>Pool</dt>
            <dd>
              {tenant.pool.mode} mode, size {tenant.pool.size}, at most {String(tenant.pool.maxClients)} clients, checkout timeout {String(tenant.pool.checkoutTimeout)} s
            </dd>
            <dt>Password</dt>
            <dd>{tenant.auth.previousPasswordExpiresAt ? `rotated; the previous one works until ${when(tenant.auth.previousPasswordExpiresAt)}` : 'one password'}{tenant.auth.md5 ? ', md5 allowed' : ''}</dd>
            <dt>Updated</dt>
            <dd>
              {when(tenant.updatedAt)} (version {tenant.version})
            </dd>
          </dl>
          <TenantActions env={env} tenant={tenant} onChanged={setTenant} onDeleted={() => (setDeleted(true), (location.hash = '#/tenants'))} />
        </>
      )}
      <h2>Pool, live</h2>
      <p class="muted">
        {source === 'pooler' ? 'Sampled from the pooler every 2 s; rates and percentiles over each interval (checkouts that did not queue count as 0 ms).' : 'From the poolers\' heartbeats (every 60 s); rates and percentiles need the local stack.'}
      </p>
      <ErrorBox error={poolError} />
      <div class="charts">
        <Chart title="Clients" unit="" series={[{ label: 'active', color: '#1d4ed8' }, { label: 'waiting', color: '#b91c1c' }]} data={[xs, col('clientsActive'), col('clientsWaiting')]} />
        <Chart title="Server connections" unit="" series={[{ label: 'active', color: '#047857' }, { label: 'idle', color: '#6b7280' }]} data={[xs, col('serversActive'), col('serversIdle')]} />
        <Chart title="Transactions per second" unit="/s" digits={1} series={[{ label: 'tx', color: '#7c3aed' }]} data={[xs, col('tps')]} />
        <Chart title="Checkout wait" unit=" ms" digits={1} series={[{ label: 'p50', color: '#0e7490' }, { label: 'p99', color: '#c2410c' }]} data={[xs, col('p50'), col('p99')]} />
      </div>
      <h2>Database</h2>
      <ErrorBox error={metricsError} />
      {metrics ? (
        <dl class="facts">
          <dt>Database size</dt>
          <dd>{bytes(metrics.target.databaseSizeBytes)}</dd>
          {metrics.target.schemaSizeBytes !== undefined && (
            <>
              <dt>Schema size</dt>
              <dd>{bytes(metrics.target.schemaSizeBytes)}</dd>
            </>
          )}
          <dt>Server sessions of its role</dt>
          <dd>
            {metrics.target.connections.total} ({metrics.target.connections.active} active, {metrics.target.connections.idle} idle, {metrics.target.connections.idleInTransaction} idle in transaction)
          </dd>
          <dt>Poolers reporting it</dt>
          <dd>{metrics.pools.poolers.length === 0 ? 'none yet' : metrics.pools.poolers.map((p) => `${p.poolerId} (${p.figures.clientsActive} clients)`).join(', ')}</dd>
        </dl>
      ) : (
        !metricsError && <p class="muted">Loading…</p>
      )}
      <TenantStatementsSection tenantId={tenantId} paused={deleted} />
    </section>
  );
}
