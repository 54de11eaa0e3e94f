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
}

/**
 * Every RDS event that can move a writer. "Started" events are included on purpose: the handler
 * re-reads the topology, and a started failover that has not yet finished simply shows no change
 * (the matching "completed" event or the minute reconcile picks up the result).
 */
export const RDS_EVENTS: readonly RdsEventInfo[] = [
  // Aurora / Multi-AZ DB cluster failover (DB cluster events, category "failover").
  { id: 'RDS-EVENT-0071', kind: 'cluster-failover', source: 'cluster', message: 'Completed failover to DB instance', sameEndpointSwitch: false },
  { id: 'RDS-EVENT-0072', kind: 'cluster-failover', source: 'cluster', message: 'Started same AZ failover to DB instance', sameEndpointSwitch: false },
  { id: 'RDS-EVENT-0073', kind: 'cluster-failover', source: 'cluster', message: 'Started cross AZ failover to DB instance', sameEndpointSwitch: false },
  // Multi-AZ DB instance failover (DB instance events, category "failover").
  { id: 'RDS-EVENT-0013', kind: 'instance-failover', source: 'instance', message: 'Multi-AZ instance failover started', sameEndpointSwitch: false },
  { id: 'RDS-EVENT-0015', kind: 'instance-failover', source: 'instance', message: 'Multi-AZ failover to standby complete', sameEndpointSwitch: true },
  { id: 'RDS-EVENT-0049', kind: 'instance-failover', source: 'instance', message: 'Multi-AZ instance failover completed', sameEndpointSwitch: true },
  // DB instance restarts (category "availability"): an Aurora writer that restarts may come back as
  // a reader after the cluster promoted another member.
  { id: 'RDS-EVENT-0006', kind: 'instance-restart', source: 'instance', message: 'DB instance restarted', sameEndpointSwitch: false },
  // Blue/green switchover completed: 0248 is the deployment-level event (source is the deployment,
  // not our cluster); 0251 (instance) and 0260 (DB cluster) name the blue resource.
  { id: 'RDS-EVENT-0248', kind: 'blue-green-switchover', source: 'blue-green-deployment', message: 'Switchover completed on blue/green deployment', sameEndpointSwitch: true },
  { id: 'RDS-EVENT-0251', kind: 'blue-green-switchover', source: 'instance', message: 'Switchover from primary/read replica completed', sameEndpointSwitch: true },
  { id: 'RDS-EVENT-0260', kind: 'blue-green-switchover', source: 'cluster', message: 'Switchover from DB cluster completed', sameEndpointSwitch: true },
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
