// The single-table layout (the stack creates the table with exactly these key names):
//   tenant            pk=TENANT#<tenantId>          sk=TENANT       gsi1pk=CLUSTER#<clusterId> gsi1sk=TENANT#<tenantId>
//                     (gsi1* only when the destination is a cluster: a sparse index)
//   login guard       pk=LOGIN#<database>#<user>    sk=LOGIN        tenantId
//   cluster           pk=CLUSTER#<clusterId>        sk=CLUSTER
//   pooler heartbeat  pk=POOLER#<poolerId>          sk=POOLER       ttl
//   node id lease     pk=POOLER#_nodes              sk=NODE#<0017>  ttl (one partition: one Query lists
//                     every lease; "_" cannot start a poolerId, so no heartbeat row ever shares it,
//                     and the instance role's POOLER#* write condition covers it)
//   budget leases     pk=POOLER#_budget             sk=BUDGET       (one item: every live pooler's lease,
//                     shared/src/domain/budget.ts; "_" keeps it apart from heartbeats as above)
//   idempotency key   pk=IDEMPOTENCY#<key>          sk=IDEMPOTENCY  tenantId, ttl
//   config counter    pk=CONFIG#version             sk=CONFIG       n (atomic counter, see ssm-config-channel.ts)
// `ttl` (epoch seconds) is meant for DynamoDB TTL; nothing depends on TTL being enabled.
// Entity attributes are stored top-level, as in the domain schema, plus `type`.
import { loginKey, type ClientLogin } from '../domain/tenant.ts';

export const GSI_BY_CLUSTER = 'byCluster';
/** The partition of the node id leases (dynamo-node-leases.ts). */
export const NODE_LEASES_PK = 'POOLER#_nodes';

export interface ItemKey {
  pk: string;
  sk: string;
}

export const keys = {
  tenant: (tenantId: string): ItemKey => ({ pk: `TENANT#${tenantId}`, sk: 'TENANT' }),
  login: (login: ClientLogin): ItemKey => ({ pk: `LOGIN#${loginKey(login)}`, sk: 'LOGIN' }),
  /** The guard of a login key (tenant.ts loginKey / claimedLoginKeys: a login or a read endpoint's login). */
  loginGuard: (key: string): ItemKey => ({ pk: `LOGIN#${key}`, sk: 'LOGIN' }),
  cluster: (clusterId: string): ItemKey => ({ pk: `CLUSTER#${clusterId}`, sk: 'CLUSTER' }),
  pooler: (poolerId: string): ItemKey => ({ pk: `POOLER#${poolerId}`, sk: 'POOLER' }),
  nodeLease: (nodeId: number): ItemKey => ({ pk: NODE_LEASES_PK, sk: `NODE#${String(nodeId).padStart(4, '0')}` }),
  budgetLeases: (): ItemKey => ({ pk: 'POOLER#_budget', sk: 'BUDGET' }),
  idempotency: (key: string): ItemKey => ({ pk: `IDEMPOTENCY#${key}`, sk: 'IDEMPOTENCY' }),
  configCounter: (): ItemKey => ({ pk: 'CONFIG#version', sk: 'CONFIG' }),
};

export const byClusterKeys = (clusterId: string, tenantId: string) => ({ gsi1pk: `CLUSTER#${clusterId}`, gsi1sk: `TENANT#${tenantId}` });

/** Attributes that belong to the table layout, not to the entity. */
export const LAYOUT_ATTRIBUTES = ['pk', 'sk', 'type', 'gsi1pk', 'gsi1sk', 'ttl'] as const;

export function stripLayout(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...item };
  for (const a of LAYOUT_ATTRIBUTES) delete out[a];
  return out;
}
