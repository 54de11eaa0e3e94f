// `npm run demo`: Switchyard in a minute. Against the running local stack (`npm start`), or, when
// none answers, a throwaway one started just for the demo on free ports. It
//   1. creates two tenants through the control API (POST /tenants, provisioned on the cluster),
//   2. runs a steady write load through the pooler (3 clients per tenant, one connection each),
//   3. fails the cluster over (POST /clusters/local/failover: stop the primary, promote the
//      standby, the RDS-shaped event to the failover handler, the push to the pooler),
//   4. keeps writing until every client has written on the new primary, and
//   5. prints a timeline and the clients' errors and disconnects, and checks that every
//      acknowledged write is on the new primary.
// Exit status 1 when an acknowledged write is missing or a client failed outside the transactions
// in flight at the moment the primary stopped.
// `npm run demo -- --planned` does a planned switchover instead (POST /clusters/local/switchover,
// local/switchover.ts): the pooler holds new transactions, open ones finish, the primary is fenced
// and the standby promoted, and the queue goes on there. It prints the pause and exits 1 on any
// client error at all, in-flight ones included, or a missing write.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ApiClient, ApiError } from '../cli/api-client.ts';
import type { FailoverTimeline } from '../local/failover.ts';
import type { SwitchoverTimeline } from '../local/switchover.ts';
import type { LocalStatus } from '../local/stack.ts';
import { freePorts, spawnStack, type StackProcess } from '../local/stack-process.ts';
import { WriteLoad, type LoadTarget } from '../local/write-load.ts';

const CLIENTS_PER_TENANT = 3;
const STEADY_MS = 2000;
const AFTER_SWITCH_MS = 1000;
const SWITCH_TIMEOUT_MS = 30_000;

const say = (m: string): void => void process.stdout.write(`· ${m}\n`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Created {
  tenant: { tenantId: string; client: { database: string; user: string } };
  password: string;
}

async function localStatus(api: ApiClient): Promise<LocalStatus | undefined> {
  try {
    return (await api.request<LocalStatus>('GET', '/status')).body;
  } catch (err) {
    // A stack answers but refuses our token: say so rather than start a second one.
    if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') throw err;
    return undefined;
  }
}

/** A running stack, or one started for the demo (stopped again at the end). */
async function stack(): Promise<{ api: ApiClient; own?: { proc: StackProcess; dir: string } }> {
  const api = ApiClient.resolve(undefined, process.env);
  if (await localStatus(api)) {
    say(`using the running local stack at ${api.baseUrl}`);
    return { api };
  }
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-demo-'));
  chmodSync(dir, 0o755);
  say(`no local stack answers at ${api.baseUrl}: starting one for this demo (state in ${dir}, free ports)`);
  const proc = await spawnStack({ via: 'node', stateDir: dir, ports: await freePorts(), onLine: (l) => l.startsWith('·') && process.stdout.write(`  ${l}\n`) });
  return { api: new ApiClient(proc.info.api, proc.apiToken), own: { proc, dir } };
}

function ms(t0: number, t: number | string | undefined): string {
  if (t === undefined) return '      -';
  const v = (typeof t === 'string' ? Date.parse(t) : t) - t0;
  return `${v >= 0 ? '+' : ''}${v} ms`.padStart(9);
}

async function storedWrites(t: LoadTarget): Promise<Set<string>> {
  const c = new pg.Client({ host: t.host, port: t.port, database: t.database, user: t.user, password: t.password });
  await c.connect();
  try {
    const r = await c.query<{ client: number; seq: number }>('SELECT client, seq FROM demo_writes');
    return new Set(r.rows.map((x) => `${x.client}:${x.seq}`));
  } finally {
    await c.end();
  }
}

const USAGE = 'usage: npm run demo [-- --planned]\n  --planned  a planned switchover (no client error) instead of a failover\n';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.some((a) => a !== '--planned')) {
    process.stderr.write(`unknown argument ${JSON.stringify(args.find((a) => a !== '--planned'))}\n${USAGE}`);
    return 2;
  }
  const planned = args.includes('--planned');
  process.stdout.write(`Switchyard demo: two tenants, a steady write load through the pooler, and a ${planned ? 'planned switchover' : 'failover'}\n\n`);
  // Ctrl-C lets the demo clean up (its own stack runs in a process group of its own and would
  // otherwise be left running).
  let interrupted = false;
  const onSigint = (): void => {
    if (!interrupted) process.stdout.write('\ninterrupted: cleaning up\n');
    interrupted = true;
  };
  process.on('SIGINT', onSigint);
  let started: Awaited<ReturnType<typeof stack>>;
  try {
    started = await stack();
  } catch (err) {
    process.off('SIGINT', onSigint);
    const e = err as Error;
    process.stderr.write(`demo failed: ${e instanceof ApiError ? `${e.message} (${e.code}); set SWITCHYARD_STATE_DIR to the stack's state directory` : e.message}\n`);
    return 1;
  }
  const { api, own } = started;
  const suffix = randomBytes(2).toString('hex');
  const ids = [`demo-${suffix}-shop`, `demo-${suffix}-blog`];
  const created: string[] = [];
  let load: WriteLoad | undefined;
  try {
    // A failover needs a streaming standby: right after an earlier failover it is still being rebuilt.
    let status = (await localStatus(api))!;
    for (let waited = 0; !status.nodes.some((n) => n.role === 'standby' && n.streaming); waited += 500) {
      if (waited === 0) say('waiting for the standby to stream (it is rebuilt after a failover)');
      if (waited > 120_000 || interrupted) throw new Error('no streaming standby to fail over to; see `switchyard status`');
      await sleep(500);
      status = (await localStatus(api))!;
    }
    if (interrupted) return 130;
    const cluster = status.clusters.find((c) => c.clusterId === 'local');
    if (!cluster) throw new Error('the local stack has no cluster "local"');
    const nodeAt = (port: number): string => status.nodes.find((n) => n.port === port)?.name ?? '?';

    say(`creating tenants ${ids.join(' and ')} through the API (POST /tenants, database and role provisioned)`);
    const targets: LoadTarget[] = [];
    for (const id of ids) {
      const res = await api.request<Created>('POST', '/tenants', { body: { tenantId: id, client: { database: id.replaceAll('-', '_'), user: id.replaceAll('-', '_') }, destination: { clusterId: 'local' }, provision: true, pool: { size: 4 } } });
      created.push(id);
      const t = res.body.tenant;
      targets.push({ tenant: id, host: status.pooler.host, port: status.pooler.port, database: t.client.database, user: t.client.user, password: res.body.password });
    }

    say(`${CLIENTS_PER_TENANT * ids.length} clients writing through the pooler at ${status.pooler.host}:${status.pooler.port} (${CLIENTS_PER_TENANT} per tenant, one connection each)`);
    // The pooler learns of the new tenants through a push; give it a moment to load them.
    load = await (async () => {
      for (let i = 0; ; i++) {
        try {
          return await WriteLoad.start(targets, CLIENTS_PER_TENANT);
        } catch (err) {
          if (i >= 50) throw err;
          await sleep(100);
        }
      }
    })();
    await sleep(STEADY_MS);
    const before = load.acks.length;
    say(`steady load: ${before} writes in ${STEADY_MS / 1000} s on node ${nodeAt(cluster.writer.port)} (${cluster.writer.host}:${cluster.writer.port})`);
    if (interrupted) return 130;

    say(planned ? 'switching the cluster over (POST /clusters/local/switchover)' : 'failing the cluster over (POST /clusters/local/failover)');
    const requestedAt = Date.now();
    const t = planned
      ? (await api.request<SwitchoverTimeline>('POST', '/clusters/local/switchover')).body
      : (await api.request<FailoverTimeline>('POST', '/clusters/local/failover')).body;
    const newPort = t.to.port;
    const deadline = Date.now() + SWITCH_TIMEOUT_MS;
    while (!load.everyClientWroteOn(newPort, requestedAt) && Date.now() < deadline && !interrupted) await sleep(50);
    await sleep(AFTER_SWITCH_MS);
    await load.stop();

    const firstOnNew = load.acks.filter((a) => a.serverPort === newPort).reduce<number | undefined>((m, a) => (m === undefined || a.at < m ? a.at : m), undefined);
    const stoppedAt = Date.parse(t.primaryStoppedAt);
    const inFlight = load.errors.filter((e) => e.sentAt <= stoppedAt);
    const beyond = load.errors.filter((e) => e.sentAt > stoppedAt);
    const missing: string[] = [];
    for (const target of targets) {
      const stored = await storedWrites(target);
      for (const a of load.acks.filter((x) => x.tenant === target.tenant)) if (!stored.has(`${a.client}:${a.seq}`)) missing.push(`${a.tenant} ${a.client}:${a.seq}`);
    }
    const after = load.acks.filter((a) => a.sentAt >= requestedAt).length;

    const detail = [t.epoch !== undefined ? `epoch ${t.epoch}` : undefined, t.event.configVersion !== undefined ? `config version ${t.event.configVersion}` : undefined].filter(Boolean).join(', ');
    const sw = planned ? (t as SwitchoverTimeline) : undefined;
    const rows: [number | string | undefined, string][] = sw
      ? [
          [sw.startedAt, 'switchover started'],
          [sw.startDeliveredAt, `failover handler applied ${sw.startEvent.id}: cluster marked switching; reload pushed`],
          [sw.poolerPausedAt, sw.poolerPausedAt ? 'pooler holds new transactions (they queue)' : 'pooler pause not observed'],
          [sw.drainedAt, sw.openTransactionsCut === 0 ? 'open transactions finished' : `drain bound reached: ${sw.openTransactionsCut} open transaction(s) rolled back`],
          [sw.primaryStoppedAt, `old primary fenced: stopped (node ${sw.from.node}, ${sw.from.host}:${sw.from.port})`],
          [sw.standbyCaughtUpAt, 'standby has received the old primary\'s last WAL'],
          [sw.promotedAt, `new primary promoted (node ${sw.to.node}, ${sw.to.host}:${sw.to.port})`],
          [sw.eventDeliveredAt, `failover handler applied ${sw.event.id}${detail ? ` (${detail})` : ''}: mark cleared; reload pushed`],
          [sw.poolerResumedAt, sw.poolerResumedAt ? 'pooler resumed: queued transactions run on the new primary' : 'pooler resume not observed'],
          [firstOnNew, 'first write acknowledged by the new primary'],
        ]
      : [
      [t.startedAt, 'failover started'],
      [t.primaryStoppedAt, `old primary stopped (node ${t.from.node}, ${t.from.host}:${t.from.port})`],
      [t.promotedAt, `new primary promoted (node ${t.to.node}, ${t.to.host}:${t.to.port})`],
      [t.eventDeliveredAt, `failover handler applied ${t.event.id}${detail ? ` (${detail})` : ''}; reload pushed to the pooler`],
      [t.poolerSwitchedAt, t.poolerSwitchedAt ? 'pooler switched: both tenants routed to the new primary' : 'pooler switch not observed'],
      [firstOnNew, 'first write acknowledged by the new primary'],
        ];
    const t0 = Date.parse(t.startedAt);
    rows.sort((a, b) => (a[0] === undefined ? 1 : b[0] === undefined ? -1 : (typeof a[0] === 'string' ? Date.parse(a[0]) : a[0]) - (typeof b[0] === 'string' ? Date.parse(b[0]) : b[0])));
    process.stdout.write('\nTimeline\n');
    for (const [at, what] of rows) process.stdout.write(`  ${ms(t0, at)}  ${what}\n`);
    process.stdout.write('\nOutcome\n');
    process.stdout.write(`  writes acknowledged: ${load.acks.length} (${after} after the ${planned ? 'switchover' : 'failover'} began); missing on the new primary: ${missing.length}\n`);
    if (sw) {
      // The pause clients saw: the longest a write took among those sent since the switchover began.
      const longest = Math.max(0, ...load.acks.filter((a) => a.at >= requestedAt).map((a) => a.at - a.sentAt));
      process.stdout.write(`  pause: ${sw.pauseMs !== undefined ? `${sw.pauseMs} ms in the pooler (held → resumed)` : 'not observed in the pooler'}; longest write seen by a client ${longest} ms\n`);
      process.stdout.write(`  client errors: ${load.errors.length} (${inFlight.length} of them in flight when the primary stopped)\n`);
    } else {
      process.stdout.write(`  client errors: ${load.errors.length} (${inFlight.length} in flight when the primary stopped, ${beyond.length} otherwise)\n`);
    }
    process.stdout.write(`  client disconnects: ${load.disconnects.length}${load.disconnects.length > 0 ? ' (each client reconnected and went on)' : ''}\n`);
    for (const e of load.errors.slice(0, 5)) process.stdout.write(`    ${e.tenant} client ${e.client}: ${e.code ?? ''} ${e.message} (${ms(t0, e.at).trim()})\n`);
    process.stdout.write(`  node ${t.from.node} is being rebuilt as the new standby (switchyard status)\n\n`);
    const ok = missing.length === 0 && (sw ? load.errors.length === 0 : beyond.length === 0);
    process.stdout.write(
      !ok ? 'UNEXPECTED: see the errors / missing writes above.\n' : sw ? 'No client error at all, in-flight ones included, and no acknowledged write lost.\n' : 'No client errors beyond the transactions in flight, and no acknowledged write lost.\n',
    );
    return ok ? 0 : 1;
  } catch (err) {
    const e = err as Error;
    process.stderr.write(`demo failed: ${e instanceof ApiError ? `${e.message} (${e.code})` : e.message}\n`);
    return 1;
  } finally {
    await load?.stop();
    process.off('SIGINT', onSigint);
    if (own) {
      say('stopping the demo stack');
      await own.proc.stop().catch((err: unknown) => process.stderr.write(`${(err as Error).message}\n`));
      rmSync(own.dir, { recursive: true, force: true });
    } else {
      for (const id of created) await api.request('DELETE', `/tenants/${id}?purge=true`).catch(() => undefined);
      if (created.length > 0) say(`deleted the demo tenants (${created.join(', ')}) and their databases`);
    }
  }
}

process.exitCode = await main();
