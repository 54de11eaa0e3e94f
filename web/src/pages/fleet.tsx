// Fleet: every pooler's applied config version and heartbeat age, and whether the fleet has
// converged on the current config version (GET /poolers; the rule is shared/src/domain/
// fleet-convergence.ts, the one the StalePoolers alarm uses).
import { useState } from 'preact/hooks';
import { api, type Fleet } from '../api.ts';
import { Badge, ErrorBox, useInterval } from '../components.tsx';
import { ago } from '../format.ts';

export function FleetPage() {
  const [fleet, setFleet] = useState<Fleet>();
  const [error, setError] = useState<unknown>();
  const [now, setNow] = useState(Date.now());
  useInterval(() => {
    api<Fleet>('GET', '/poolers')
      .then((f) => (setFleet(f), setError(undefined)))
      .catch(setError);
  }, 5_000);
  useInterval(() => setNow(Date.now()), 1_000);
  const behind = fleet?.poolers.filter((p) => !p.stale && !p.converged).length ?? 0;
  return (
    <section class="page">
      <div class="page-head">
        <h1 tabIndex={-1}>Fleet</h1>
      </div>
      <ErrorBox error={error} />
      {fleet && (
        <p class={`banner ${fleet.converged ? 'banner-ok' : 'banner-warn'}`} role="status">
          {fleet.converged
            ? `Converged: every live pooler has applied config version ${fleet.configVersion}.`
            : `Not converged: ${behind} live pooler${behind === 1 ? '' : 's'} behind config version ${fleet.configVersion}.`}
        </p>
      )}
      <table>
        <caption class="sr-only">Poolers</caption>
        <thead>
          <tr>
            <th scope="col">Pooler</th>
            <th scope="col">Instance</th>
            <th scope="col">Applied config version</th>
            <th scope="col">Last heartbeat</th>
            <th scope="col">Health</th>
          </tr>
        </thead>
        <tbody>
          {fleet?.poolers.map((p) => (
            <tr data-pooler={p.poolerId}>
              <th scope="row" class="mono">
                {p.poolerId}
              </th>
              <td class="mono">{p.instanceId ?? '—'}</td>
              <td>
                {p.appliedConfigVersion} {!p.converged && !p.stale && <span class="muted">(current {fleet.configVersion})</span>}
              </td>
              <td>{ago(p.lastSeen, now)}</td>
              <td>{p.stale ? <Badge kind="bad">stale: no heartbeat</Badge> : p.converged ? <Badge kind="ok">up to date</Badge> : <Badge kind="warn">behind</Badge>}</td>
            </tr>
          ))}
          {fleet?.poolers.length === 0 && (
            <tr>
              <td colSpan={5} class="muted">
                No pooler has reported yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}
