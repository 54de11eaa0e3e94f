// Clusters: writer, readers, epoch, last change, and each recorded failover as a timeline (the
// cluster's failover history, shared/src/domain/failover-history.ts). On the local stack a
// "Fail over" button runs POST /clusters/{id}/failover after a confirmation.
import { useState } from 'preact/hooks';
import { api, type Cluster, type FailoverRecord } from '../api.ts';
import { ErrorBox, Modal, useInterval } from '../components.tsx';
import type { ConsoleEnv } from '../env.ts';
import { endpoint, ms, when } from '../format.ts';

const PHASES: [keyof FailoverRecord, string][] = [
  ['startedAt', 'Failover started'],
  ['primaryStoppedAt', 'Old primary stopped'],
  ['promotedAt', 'New primary accepts writes'],
  ['eventTime', 'RDS event time'],
  ['receivedAt', 'Event received by the control plane'],
  ['appliedAt', 'New writer stored and published'],
  ['poolersSwitchedAt', 'Pooler routes to the new writer'],
  ['poolersAppliedAt', 'Pooler applied the new config version'],
];

function Timeline({ f }: { f: FailoverRecord }) {
  const steps = PHASES.flatMap(([k, label]) => (typeof f[k] === 'string' ? [{ label, at: Date.parse(f[k] as string) }] : [])).sort((a, b) => a.at - b.at);
  const t0 = steps[0]?.at ?? 0;
  const span = Math.max(1, (steps[steps.length - 1]?.at ?? t0) - t0);
  return (
    <div class="failover">
      <h4>
        Epoch {f.epoch}: {endpoint(f.from)} → {endpoint(f.to)} <span class="muted">({f.cause === 'reconcile' ? 'found by the scheduled reconcile' : f.cause}{f.configVersion !== undefined ? `, config version ${f.configVersion}` : ''})</span>
      </h4>
      <ol class="timeline" aria-label={`Timeline of the failover to epoch ${f.epoch}`}>
        {steps.map((s) => (
          <li>
            <span class="tl-label">{s.label}</span>
            <span class="tl-bar" aria-hidden="true">
              <span class="tl-dot" style={{ left: `${((s.at - t0) / span) * 100}%` }} />
            </span>
            <span class="tl-time" title={new Date(s.at).toISOString()}>
              +{ms(s.at - t0)}
            </span>
          </li>
        ))}
      </ol>
    </div>
  );
}

export function ClustersPage({ env }: { env: ConsoleEnv }) {
  const [clusters, setClusters] = useState<Cluster[]>();
  const [error, setError] = useState<unknown>();
  const [confirm, setConfirm] = useState<Cluster>();
  const load = (): void => {
    api<{ items: Cluster[] }>('GET', '/clusters')
      .then((r) => (setClusters(r.items), setError(undefined)))
      .catch(setError);
  };
  useInterval(load, 5_000);
  return (
    <section class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Clusters</h1>
      </div>
      <ErrorBox error={error} />
      {clusters?.length === 0 && <p class="muted">No clusters registered.</p>}
      {clusters?.map((c) => (
        <article class="card" key={c.clusterId} data-cluster={c.clusterId} aria-labelledby={`cl-${c.clusterId}`}>
          <div class="card-head">
            <h2 id={`cl-${c.clusterId}`}>
              {c.clusterId} <span class="muted">({c.kind})</span>
            </h2>
            {env.kind === 'local' && (
              <button type="button" class="danger" onClick={() => setConfirm(c)}>
                Fail over
              </button>
            )}
          </div>
          <dl class="facts">
            <dt>Writer</dt>
            <dd class="mono" data-field="writer">
              {endpoint(c.writer)}
            </dd>
            <dt>Readers</dt>
            <dd class="mono">{c.readers.length ? c.readers.map(endpoint).join(', ') : 'none'}</dd>
            <dt>Epoch</dt>
            <dd data-field="epoch">{c.epoch}</dd>
            <dt>Last change</dt>
            <dd>{when(c.lastEventTime)}</dd>
          </dl>
          <h3>Failovers</h3>
          {c.failovers?.length ? [...c.failovers].reverse().map((f) => <Timeline f={f} />) : <p class="muted">None recorded yet.</p>}
        </article>
      ))}
      {confirm && <FailoverDialog cluster={confirm} onClose={() => setConfirm(undefined)} onDone={load} />}
    </section>
  );
}

function FailoverDialog({ cluster, onClose, onDone }: { cluster: Cluster; onClose: () => void; onDone: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    try {
      await api('POST', `/clusters/${cluster.clusterId}/failover`, {});
      onDone();
      onClose();
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <Modal title={`Fail over ${cluster.clusterId}?`} onClose={onClose}>
      <p>
        The primary {endpoint(cluster.writer)} is stopped and the standby promoted; clients in a transaction on the old primary get an error, the others carry on. The old primary is then rebuilt as the new standby (this takes a few seconds).
      </p>
      <ErrorBox error={error} />
      <div class="dialog-foot">
        <button type="button" onClick={onClose} disabled={busy}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={run} disabled={busy}>
          {busy ? 'Failing over…' : 'Fail over'}
        </button>
      </div>
    </Modal>
  );
}
