// The tenant's heaviest statement shapes (normalized texts, no literals) over the live poolers:
// GET /tenants/{id}/statements every 15 s (the poolers' heartbeat period; docs/admin.md).
import { useState } from 'preact/hooks';
import { api, type TenantStatements } from '../api.ts';
import { ErrorBox, useInterval } from '../components.tsx';
import { when } from '../format.ts';

const ms = (v: number): string => v.toFixed(v < 10 ? 3 : 1);

export function TenantStatementsSection({ tenantId, paused }: { tenantId: string; paused: boolean }) {
  const [s, setS] = useState<TenantStatements>();
  const [error, setError] = useState<unknown>();
  useInterval(
    () => {
      if (paused) return;
      api<TenantStatements>('GET', `/tenants/${tenantId}/statements`)
        .then((r) => {
          setS(r);
          setError(undefined);
        })
        .catch(setError);
    },
    15_000,
    [tenantId, paused],
  );
  return (
    <>
      <h2>Statements</h2>
      <ErrorBox error={error} />
      {s === undefined ? (
        !error && <p class="muted">Loading…</p>
      ) : s.window === undefined ? (
        <p class="muted">No live pooler has reported statements for this tenant yet.</p>
      ) : (
        <>
          <p class="muted">
            {s.poolers} pooler(s), since {when(s.window.since)} (each pooler's start), as of {when(s.window.until)}.
          </p>
          <table>
            <caption class="sr-only">Statement shapes by total time</caption>
            <thead>
              <tr>
                <th>Calls</th>
                <th>Total ms</th>
                <th>Mean ms</th>
                <th>Max ms</th>
                <th>Query</th>
              </tr>
            </thead>
            <tbody>
              {s.statements.map((x) => (
                <tr key={x.text}>
                  <td>{x.calls}</td>
                  <td>{ms(x.totalMs)}</td>
                  <td>{ms(x.meanMs)}</td>
                  <td>{ms(x.maxMs)}</td>
                  <td>
                    <code>{x.text}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}
