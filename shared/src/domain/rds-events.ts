// The single source of truth for the RDS events the failover handler understands. The stack builds
// its EventBridge rule from `rdsEventPattern()`; the handler classifies incoming events with
// `classifyRdsEvent()`. Both read the same table, so a new ID added here is both routed and handled.
//
// IDs and messages from the Amazon RDS User Guide, "Amazon RDS event categories and event messages"
// (USER_Events.Messages) and the Aurora User Guide's page of the same name. Event shapes on the
// default bus: EventBridge "Amazon RDS events" (detail-type "RDS DB Instance Event", ...).
//
// An event is only a hint that the topology may have changed: the handler always asks the Topology
// port for the current writer and never trusts the event's own content.

/** EventBridge `detail-type` values RDS uses for the sources we listen to. */
export const RDS_DETAIL_TYPES = {
  cluster: 'RDS DB Cluster Event',
  instance: 'RDS DB Instance Event',
  blueGreen: 'RDS Blue Green Deployment Event',
} as const;

export type RdsEventKind =
  | 'cluster-failover'
  | 'instance-failover'
  | 'instance-restart'
  | 'blue-green-switchover';

export interface RdsEventInfo {
  readonly id: string;
  readonly kind: RdsEventKind;
  /** The source type RDS reports for it; decides how SourceIdentifier maps to our cluster. */
  readonly source: 'cluster' | 'instance' | 'blue-green-deployment';
  readonly message: string;
  /**
   * The writer is now a different server behind the SAME endpoint name (Multi-AZ instance failover
   * flips the DNS record; a blue/green switchover renames green to blue). The topology then looks
   * unchanged (same host:port), yet poolers must drop connections to the old server — so the
   * handler starts a new epoch for such an event, once (only when it is newer than the last one).
   */
  readonly sameEndpointSwitch: boolean;
  /**
   * Where the event stands in a writer change (docs/deploy.md "Planned switchover"):
   * - `started`: the cluster is marked switching; poolers hold new transactions of its tenants.
   * - `completed`: the switch is over; the topology is re-read (new epoch) and the mark cleared.
   * - `aborted`: the switch failed or was cancelled; the mark is cleared, the writer re-read.
   * - `hint`: only a reason to re-read the topology (a restart in the middle of a failover).
   */
  readonly phase: 'started' | 'completed' | 'aborted' | 'hint';
}

/**
 * Every RDS event that can move a writer. A "started" event marks the cluster switching (poolers
 * hold new transactions until the matching "completed" event, or their switchover_timeout); the
 * handler also re-reads the topology, where a failover that has not finished shows no change.
 */
export const RDS_EVENTS: readonly RdsEventInfo[] = [
  // Aurora / Multi-AZ DB cluster failover (DB cluster events, category "failover"). 0069 "Cluster
  // failover failed" and 0070 "Promoting previous primary again" end a failover that did not move.
  { id: 'RDS-EVENT-0071', kind: 'cluster-failover', source: 'cluster', message: 'Completed failover to DB instance', sameEndpointSwitch: false, phase: 'completed' },
  { id: 'RDS-EVENT-0072', kind: 'cluster-failover', source: 'cluster', message: 'Started same AZ failover to DB instance', sameEndpointSwitch: false, phase: 'started' },
  { id: 'RDS-EVENT-0073', kind: 'cluster-failover', source: 'cluster', message: 'Started cross AZ failover to DB instance', sameEndpointSwitch: false, phase: 'started' },
  { id: 'RDS-EVENT-0069', kind: 'cluster-failover', source: 'cluster', message: 'Cluster failover failed', sameEndpointSwitch: false, phase: 'aborted' },
  { id: 'RDS-EVENT-0070', kind: 'cluster-failover', source: 'cluster', message: 'Promoting previous primary again', sameEndpointSwitch: false, phase: 'aborted' },
  // Multi-AZ DB instance failover, also a reboot with failover (DB instance events, category "failover").
  { id: 'RDS-EVENT-0013', kind: 'instance-failover', source: 'instance', message: 'Multi-AZ instance failover started', sameEndpointSwitch: false, phase: 'started' },
  { id: 'RDS-EVENT-0015', kind: 'instance-failover', source: 'instance', message: 'Multi-AZ failover to standby complete', sameEndpointSwitch: true, phase: 'completed' },
  { id: 'RDS-EVENT-0049', kind: 'instance-failover', source: 'instance', message: 'Multi-AZ instance failover completed', sameEndpointSwitch: true, phase: 'completed' },
  // DB instance restarts (category "availability"): an Aurora writer that restarts may come back as
  // a reader after the cluster promoted another member. A reboot with failover restarts the old
  // primary between its started and completed events, so a restart ends no switch.
  { id: 'RDS-EVENT-0006', kind: 'instance-restart', source: 'instance', message: 'DB instance restarted', sameEndpointSwitch: false, phase: 'hint' },
  // Blue/green switchover (category "notification"; "failure" for the cancellations): 0247/0248/0249
  // are deployment-level events (source is the deployment, not our cluster); 0250/0251/0252 name
  // the blue DB instance, 0259/0260/0261 the blue DB cluster.
  { id: 'RDS-EVENT-0247', kind: 'blue-green-switchover', source: 'blue-green-deployment', message: 'Switchover started on blue/green deployment', sameEndpointSwitch: false, phase: 'started' },
  { id: 'RDS-EVENT-0248', kind: 'blue-green-switchover', source: 'blue-green-deployment', message: 'Switchover completed on blue/green deployment', sameEndpointSwitch: true, phase: 'completed' },
  { id: 'RDS-EVENT-0249', kind: 'blue-green-switchover', source: 'blue-green-deployment', message: 'Switchover canceled on blue/green deployment', sameEndpointSwitch: false, phase: 'aborted' },
  { id: 'RDS-EVENT-0250', kind: 'blue-green-switchover', source: 'instance', message: 'Switchover from primary source to target started', sameEndpointSwitch: false, phase: 'started' },
  { id: 'RDS-EVENT-0251', kind: 'blue-green-switchover', source: 'instance', message: 'Switchover from primary/read replica completed', sameEndpointSwitch: true, phase: 'completed' },
  { id: 'RDS-EVENT-0252', kind: 'blue-green-switchover', source: 'instance', message: 'Switchover from primary source to target canceled', sameEndpointSwitch: false, phase: 'aborted' },
  { id: 'RDS-EVENT-0259', kind: 'blue-green-switchover', source: 'cluster', message: 'Switchover from source to target started', sameEndpointSwitch: false, phase: 'started' },
  { id: 'RDS-EVENT-0260', kind: 'blue-green-switchover', source: 'cluster', message: 'Switchover from DB cluster completed', sameEndpointSwitch: true, phase: 'completed' },
  { id: 'RDS-EVENT-0261', kind: 'blue-green-switchover', source: 'cluster', message: 'Switchover from source to target canceled', sameEndpointSwitch: false, phase: 'aborted' },
];

export const RDS_EVENT_IDS: readonly string[] = RDS_EVENTS.map((e) => e.id);

const byId = new Map(RDS_EVENTS.map((e) => [e.id, e]));

/** The handled event with this ID, or undefined for one we ignore. */
export function classifyRdsEvent(eventId: string): RdsEventInfo | undefined {
  return byId.get(eventId);
}

export interface RdsEventPattern {
  source: ['aws.rds'];
  'detail-type': string[];
  detail: { EventID: string[] };
}

/**
 * The EventBridge rule pattern that routes exactly the events above to the failover function.
 * A fresh object each call (CDK may mutate what it is given).
 */
export function rdsEventPattern(): RdsEventPattern {
  return {
    source: ['aws.rds'],
    'detail-type': [RDS_DETAIL_TYPES.cluster, RDS_DETAIL_TYPES.instance, RDS_DETAIL_TYPES.blueGreen],
    detail: { EventID: [...RDS_EVENT_IDS] },
  };
}
