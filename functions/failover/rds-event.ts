// EventBridge target for RDS events (source aws.rds; the rule is built from rdsEventPattern() in
// shared/src/domain/rds-events.ts). An event is only a hint: we map its source to our cluster(s),
// ask the Topology port for the current writer, and let syncCluster apply the epoch rule with the
// event's own time (detail.Date), so duplicates, late and out-of-order deliveries are harmless.
// Then, once, bump the config version and push a reload.
// A planned switchover (docs/deploy.md "Planned switchover"): a "started" event naming a cluster
// marks it switching first (switchover.ts; poolers hold new transactions), and a "completed" or
// "aborted" one clears the mark with the sync (sync-cluster.ts, endSwitch). Only events that name
// the cluster do either: a deployment-level blue/green event that names none pauses nothing.
//
// Outcomes: an event we do not handle, a malformed one or one for a cluster we do not know is
// logged and SUCCEEDS (a thrown error would make Lambda retry an event that can never succeed).
// A failure talking to RDS/DynamoDB/SSM throws, so the asynchronous invocation is retried.
import middy from '@middy/core';
import type { Context, EventBridgeEvent } from 'aws-lambda';
import { z } from 'zod';
import type { Cluster } from '../../shared/src/domain/cluster.ts';
import { classifyRdsEvent, type RdsEventInfo } from '../../shared/src/domain/rds-events.ts';
import { announceChange } from '../lib/announce.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { resolveDeps, type DepsSource } from '../lib/http.ts';
import type { Logger } from '../lib/logger.ts';
import { syncCluster, type SyncOutcome } from './sync-cluster.ts';
import { markSwitching } from './switchover.ts';

export type FailoverDeps = Pick<Deps, 'adapters' | 'log' | 'now'>;

/** The parts of an RDS event we read (EventBridge "Amazon RDS events"); anything else is ignored. */
const rdsEventSchema = z.object({
  id: z.string().optional(),
  source: z.literal('aws.rds'),
  'detail-type': z.string(),
  time: z.string().optional(),
  resources: z.array(z.string()).optional(),
  detail: z.object({
    EventID: z.string().optional(),
    SourceIdentifier: z.string().optional(),
    SourceArn: z.string().optional(),
    SourceType: z.string().optional(),
    Date: z.string().optional(),
    Message: z.string().optional(),
  }),
});
type RdsEvent = z.infer<typeof rdsEventSchema>;

export interface RdsEventResult {
  status: 'ignored' | 'unknown-cluster' | 'applied';
  eventId?: string;
  clusters: SyncOutcome[];
  configVersion?: number;
}

/** detail.Date (milliseconds) over the envelope's `time` (seconds); never later than now. */
export function eventTimeOf(e: RdsEvent, now: Date): Date {
  for (const s of [e.detail.Date, e.time]) {
    const ms = s === undefined ? NaN : Date.parse(s);
    // A clock running ahead must not set lastEventTime in the future (that would make every
    // reconcile until then look "older" and be ignored).
    if (!Number.isNaN(ms)) return new Date(Math.min(ms, now.getTime()));
  }
  return now;
}

/** The RDS identifier the event names: SourceIdentifier, else the last part of SourceArn. Lower-case. */
export function sourceIdentifierOf(e: RdsEvent): string | undefined {
  const raw = e.detail.SourceIdentifier ?? e.detail.SourceArn?.split(':').pop() ?? e.resources?.[0]?.split(':').pop();
  // Some deliveries prefix the identifier with "rds:" (seen in documented SNS-era examples).
  return raw?.replace(/^rds:/, '').toLowerCase() || undefined;
}

/** First DNS label of an endpoint host: an RDS instance endpoint starts with the instance identifier. */
function hostLabel(host: string): string {
  return (host.split('.')[0] ?? '').toLowerCase();
}

export interface EventTargets {
  clusters: Cluster[];
  /**
   * The event named these clusters (by identifier, or by name in its message) — as opposed to a
   * precautionary sweep. Only named clusters get a forced new epoch (sameEndpointSwitch).
   */
  named: boolean;
}

/** Lower-case tokens of an event message that could be RDS identifiers (letters, digits, hyphens). */
function messageTokens(message: string | undefined): Set<string> {
  return new Set((message ?? '').toLowerCase().split(/[^a-z0-9-]+/).filter(Boolean));
}

/** Our clusters this event is about. */
export function clustersForEvent(info: RdsEventInfo, sourceId: string | undefined, message: string | undefined, clusters: readonly Cluster[]): EventTargets {
  const rdsBacked = clusters.filter((c) => c.kind !== 'static');
  if (sourceId !== undefined) {
    const matched = rdsBacked.filter((c) => {
      if (c.rds?.clusterIdentifier?.toLowerCase() === sourceId) return true;
      if (c.rds?.instanceIdentifier?.toLowerCase() === sourceId) return true;
      // An instance event about an Aurora member (e.g. the writer restarted): our stored members'
      // instance endpoints are named after their instance identifiers.
      if (info.source === 'instance' && c.kind === 'aurora') return [c.writer, ...c.readers].some((e) => hostLabel(e.host) === sourceId);
      return false;
    });
    if (matched.length > 0) return { clusters: matched, named: true };
  }
  if (info.kind !== 'blue-green-switchover') return { clusters: [], named: false };
  // Blue/green events name the deployment (bgd-...), not a database. Their messages name the blue
  // resource ("Switchover from DB cluster blue to green completed. Renamed blue to blue-old1 ...").
  const tokens = messageTokens(message);
  const inMessage = rdsBacked.filter((c) => [c.rds?.clusterIdentifier, c.rds?.instanceIdentifier].some((id) => id !== undefined && tokens.has(id.toLowerCase())));
  if (inMessage.length > 0) return { clusters: inMessage, named: true };
  // Otherwise re-check every RDS-backed cluster (switchovers are rare) rather than miss one.
  return { clusters: rdsBacked, named: false };
}

export async function handleRdsEvent(raw: unknown, deps: FailoverDeps): Promise<RdsEventResult> {
  const receivedAt = deps.now();
  const parsed = rdsEventSchema.safeParse(raw);
  if (!parsed.success) {
    deps.log.warn({ issues: parsed.error.issues.length }, 'not an RDS event; ignored');
    return { status: 'ignored', clusters: [] };
  }
  const e = parsed.data;
  const eventId = e.detail.EventID;
  const info = eventId === undefined ? undefined : classifyRdsEvent(eventId);
  const sourceId = sourceIdentifierOf(e);
  const log: Logger = deps.log.child({ eventId, rdsEventUuid: e.id, sourceId });
  if (!info || eventId === undefined) {
    log.info('RDS event not handled; ignored');
    return { status: 'ignored', ...(eventId !== undefined ? { eventId } : {}), clusters: [] };
  }
  const { clusters: targets, named } = clustersForEvent(info, sourceId, e.detail.Message, await deps.adapters.clusters.list());
  if (targets.length === 0) {
    log.info({ kind: info.kind }, 'RDS event for a cluster we do not manage; ignored');
    return { status: 'unknown-cluster', eventId, clusters: [] };
  }
  const eventTime = eventTimeOf(e, deps.now());
  const outcomes: SyncOutcome[] = [];
  const failures: unknown[] = [];
  let marked = false;
  for (let c of targets) {
    try {
      const clog = log.child({ clusterId: c.clusterId });
      if (named && info.phase === 'started') {
        const m = await markSwitching(deps.adapters, c, eventTime, eventId, clog, deps.now());
        marked ||= m.published;
        c = m.cluster;
      }
      const endSwitch = named && (info.phase === 'completed' || info.phase === 'aborted');
      outcomes.push(await syncCluster(deps.adapters, c, eventTime, clog, { forceNewEpoch: named && info.sameEndpointSwitch, cause: eventId, receivedAt, endSwitch }));
    } catch (err) {
      log.error({ clusterId: c.clusterId, err }, 'cluster sync failed');
      failures.push(err);
    }
  }
  const result: RdsEventResult = { status: 'applied', eventId, clusters: outcomes };
  // Announce what did change even if another cluster failed (then throw for the retry).
  if (marked || outcomes.some((o) => o.published)) result.configVersion = (await announceChange(deps.adapters, log)).configVersion;
  if (failures.length > 0) throw new AggregateError(failures, `RDS event ${eventId}: ${failures.length} cluster(s) failed to sync`);
  log.info({ kind: info.kind, phase: info.phase, clusters: outcomes.map((o) => ({ clusterId: o.clusterId, changed: o.changed, epoch: o.epoch, switching: o.switching })) }, 'RDS event applied');
  return result;
}

export function makeHandler(deps: DepsSource<FailoverDeps>) {
  return middy<EventBridgeEvent<string, unknown>, RdsEventResult, Error, Context>().handler(async (event) =>
    handleRdsEvent(event, await resolveDeps(deps)),
  );
}

export const handler = makeHandler(defaultDeps);
