// The RDS event catalogue: the EventBridge pattern routes exactly the handled IDs, and each ID
// classifies back to its entry.
import { describe, expect, it } from 'vitest';
import { RDS_EVENT_IDS, RDS_EVENTS, classifyRdsEvent, rdsEventPattern } from './rds-events.ts';

describe('RDS event catalogue', () => {
  it('builds an EventBridge pattern for aws.rds with every handled event ID', () => {
    const p = rdsEventPattern();
    expect(p.source).toEqual(['aws.rds']);
    expect(p['detail-type']).toEqual(['RDS DB Cluster Event', 'RDS DB Instance Event', 'RDS Blue Green Deployment Event']);
    expect(p.detail.EventID).toEqual([...RDS_EVENT_IDS]);
    // A fresh object each time: mutating one pattern does not change the next.
    p.detail.EventID.push('RDS-EVENT-9999');
    expect(rdsEventPattern().detail.EventID).not.toContain('RDS-EVENT-9999');
  });

  it('covers Aurora failover, Multi-AZ failover, restarts and blue/green switchovers', () => {
    expect(RDS_EVENT_IDS).toEqual(
      expect.arrayContaining(['RDS-EVENT-0071', 'RDS-EVENT-0072', 'RDS-EVENT-0073', 'RDS-EVENT-0013', 'RDS-EVENT-0015', 'RDS-EVENT-0049', 'RDS-EVENT-0006', 'RDS-EVENT-0248', 'RDS-EVENT-0251', 'RDS-EVENT-0260']),
    );
    expect(new Set(RDS_EVENT_IDS).size).toBe(RDS_EVENT_IDS.length);
    for (const e of RDS_EVENTS) expect(e.id).toMatch(/^RDS-EVENT-\d{4}$/);
    expect(classifyRdsEvent('RDS-EVENT-0071')?.kind).toBe('cluster-failover');
    expect(classifyRdsEvent('RDS-EVENT-0049')?.sameEndpointSwitch).toBe(true);
    expect(classifyRdsEvent('RDS-EVENT-0005')).toBeUndefined();
  });
});
