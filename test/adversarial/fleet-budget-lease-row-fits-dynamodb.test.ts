// The budget leases are ONE DynamoDB item (shared/src/aws/dynamo-budget-leases.ts), and DynamoDB
// refuses an item above 400 KB (Developer Guide, "Service, account, and table quotas": item size).
// With lending each member carries up to demandKeyCap(members) keys in `want` and in `give`; a fleet of
// 100 members (e.g. 13 machines of 8 workers) whose busy tenants have long (legal) ids must still be
// able to write its row, or every renewal that grows it fails and the writer fences itself.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { expect, it } from 'vitest';
import { DynamoBudgetLeaseStore } from '../../shared/src/aws/dynamo-budget-leases.ts';
import { demandKey, demandKeyCap, type BudgetLeases } from '../../shared/src/domain/budget.ts';
import { createSwitchyardTable, describeWithMoto, useMoto } from '../helpers/moto.ts';

describeWithMoto('fleet budget leases row in DynamoDB', () => {
  useMoto();

  it('a row of 100 members each wanting and lending as many budgets as the lease lets it can be written', async () => {
    const dynamodb = new DynamoDBClient({});
    const table = `lease-row-${Date.now()}`;
    await createSwitchyardTable(dynamodb, table);
    const store = new DynamoBudgetLeaseStore({ doc: DynamoDBDocumentClient.from(dynamodb), table });
    // Tenant ids as long as tenantIdSchema allows (63 characters).
    const key = (i: number): string => demandKey('tenant', `tenant-${String(i).padStart(4, '0')}-`.padEnd(63, 'x'));
    const members = Array.from({ length: 100 }, (_, m) => ({
      holder: `holder-${String(m).padStart(10, '0')}`,
      poolerId: `pooler-${m}-w${m % 8}`,
      expiresAtMs: 1_700_000_000_000,
      ack: 1,
      want: Array.from({ length: demandKeyCap(100) }, (_, k) => key(m * 64 + k)).sort(),
      give: Array.from({ length: demandKeyCap(100) }, (_, k) => key(m * 64 + 32 + k)).sort(),
    }));
    const row: BudgetLeases = { generation: 1, version: 1, members };
    expect(await store.write(row)).toBe(true);
    expect((await store.read())?.members.length).toBe(100);
  }, 120_000);
});
