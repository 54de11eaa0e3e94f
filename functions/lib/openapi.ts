// The control-plane API as an OpenAPI 3.1 document, generated from the same zod schemas the
// handlers validate with (z.toJSONSchema, JSON Schema 2020-12 = OpenAPI 3.1's dialect), so the
// document cannot drift from the code. Cross-field rules (superRefine) are described in prose.
import { z } from 'zod';
import {
  createClusterRequestSchema,
  createTenantRequestSchema,
  rotatePasswordRequestSchema,
  updateClusterRequestSchema,
  updateTenantRequestSchema,
} from './schemas.ts';
import {
  clusterCreatedSchema,
  clusterDeletedSchema,
  clusterDetailSchema,
  clusterViewSchema,
  poolersResponseSchema,
  tenantMetricsSchema,
  tenantPageSchema,
  tenantDeletedSchema,
  tenantUpdatedSchema,
  tenantViewSchema,
  tenantWithPasswordSchema,
} from './views.ts';
import { tenantStatementsSchema } from './tenant-statements.ts';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const s = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }) as Json;
  delete s.$schema;
  return s;
}

const errorSchema = z.object({
  error: z.object({
    code: z.string().meta({ description: 'Stable machine-readable code, e.g. INVALID_REQUEST, INVALID_CHARACTER, NOT_FOUND, LOGIN_TAKEN, VERSION_CONFLICT, INTERNAL' }),
    message: z.string(),
    details: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  }),
});

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const jsonContent = (name: string) => ({ 'application/json': { schema: ref(name) } });
const errorResponse = (description: string) => ({ description, content: jsonContent('Error') });
const tenantIdParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{2,62}$' } };
const clusterIdParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' } };
const ifMatch = (required: boolean, what = 'tenant', inBody = true) => ({
  name: 'If-Match',
  in: 'header',
  required,
  description: `The ${what} version you read, as an entity tag ("3").${inBody ? ' May be given as body field `version` instead.' : ''}`,
  schema: { type: 'string' },
});
const committed =
  'Once the change is stored the answer is 2xx even if the poolers cannot be told (the config version bump is retried, bounded): ' +
  'the body then carries `warning` (CONFIG_NOT_PUBLISHED) and poolers load the change with the next published change or the scheduled reconcile.';
const common = {
  '400': errorResponse(
    'Malformed JSON, unknown field or invalid value (INVALID_REQUEST, MALFORMED_JSON); a control character (U+0000–U+001F, U+007F–U+009F) or unpaired surrogate in any string (INVALID_CHARACTER)',
  ),
  '500': errorResponse('Unexpected failure (INTERNAL); no detail is disclosed'),
};

export function buildOpenApi(): Json {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Switchyard control plane',
      version: '1.0.0',
      description:
        'Tenants, clusters and poolers of a Switchyard deployment. Requests are IAM-signed (SigV4). ' +
        'Every error is `{ "error": { "code", "message" } }` with a stable code. No response ever carries a verifier or a ciphertext; ' +
        'client passwords appear only in the response that created them (create, rotate-password).',
    },
    security: [{ sigv4: [] }],
    paths: {
      '/tenants': {
        post: {
          operationId: 'createTenant',
          summary: 'Create a tenant (optionally provision its role and database/schema)',
          description:
            'Exactly one of destination.clusterId / destination.host. destination.password is required unless provision is true ' +
            '(then the new role gets the client password, so the returned password also works directly against the database). ' +
            'Idempotent: repeating the same request for an existing tenantId answers 200 without a password (header Idempotent-Replayed: true) ' +
            'and resumes provisioning; a different request for an existing tenantId is 409 ALREADY_EXISTS. An Idempotency-Key header is honoured ' +
            'for 24 hours; reusing it for a different request is 422 IDEMPOTENCY_KEY_REUSED. ' +
            '`readEndpoint: { enabled, maxReplicaLagMs }` (maxReplicaLagMs an integer 0..3600000, default 5000) gives the tenant a read-only endpoint: clients log in with the database name `<client.database>_ro` and the tenant\'s user and password, and their transactions go to the cluster\'s readers whose measured replica lag is within the bound, or to the writer when none qualifies (docs/read-endpoints.md). The read login must be nobody else\'s login: 409 LOGIN_TAKEN. ' +
            committed,
          parameters: [{ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 255 } }],
          requestBody: { required: true, content: jsonContent('CreateTenantRequest') },
          responses: {
            '201': { description: 'Created; `password` is shown only here', content: jsonContent('TenantWithPassword') },
            '200': { description: 'Replay of an earlier identical create', content: jsonContent('TenantWithPassword') },
            ...common,
            '409': errorResponse(
              'ALREADY_EXISTS, LOGIN_TAKEN (client database/user pair in use as another tenant\'s login or read endpoint login, or the read endpoint login `<database>_ro` is another tenant\'s login), ROLE_TAKEN / DATABASE_TAKEN / SCHEMA_TAKEN on the target; ' +
                'CLUSTER_ADMIN_UNAVAILABLE, CLUSTER_ADMIN_SECRET_NOT_FOUND, CLUSTER_ADMIN_SECRET_INVALID, CLUSTER_ADMIN_SECRET_NOT_OWNED (nothing was created)',
            ),
            '422': errorResponse('IDEMPOTENCY_KEY_REUSED'),
            '502': errorResponse('PROVISIONING_FAILED; the tenant was not kept, retry the request. CLUSTER_ADMIN_SECRET_DENIED, CLUSTER_ADMIN_SECRET_UNAVAILABLE (nothing was created)'),
          },
        },
        get: {
          operationId: 'listTenants',
          summary: 'List tenants, one page at a time',
          parameters: [
            { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000 } },
            { name: 'cursor', in: 'query', required: false, schema: { type: 'string' } },
          ],
          responses: { '200': { description: 'A page; pass `cursor` back for the next', content: jsonContent('TenantPage') }, ...common },
        },
      },
      '/tenants/{id}': {
        parameters: [tenantIdParameter],
        get: {
          operationId: 'getTenant',
          responses: {
            '200': { description: 'The tenant (ETag = its version)', content: jsonContent('Tenant') },
            '404': errorResponse('NOT_FOUND'),
            ...common,
          },
        },
        patch: {
          operationId: 'updateTenant',
          summary: 'Change pool settings, suspend/resume, or move the tenant (destination), under an optimistic lock',
          parameters: [ifMatch(false)],
          requestBody: { required: true, content: jsonContent('UpdateTenantRequest') },
          description:
            '`destination` moves the tenant: `clusterId` alone, or `host` with an optional `port` (the location moves as a whole), and/or `database`, `user`, ' +
            '`schema` (null drops it), `password`. The destination password is encrypted under { tenantId, clusterId } of the new destination; without a ' +
            'new password it is re-encrypted from the stored one for a move between registered clusters; a move to a new fixed host or port needs the password. Poolers drain and switch: idle server connections to the old destination close at once, ' +
            'busy ones when their transaction ends (session mode: when the session ends); new transactions go to the new destination. Copying the data is ' +
            'the caller\'s job (docs/deploy.md, "Moving a tenant"). ' +
            '`readEndpoint` turns the read endpoint on or off or changes its bound (fields not given keep their value). ' +
            '`readEndpoint: { enabled, maxReplicaLagMs }` (maxReplicaLagMs an integer 0..3600000, default 5000) gives the tenant a read-only endpoint: clients log in with the database name `<client.database>_ro` and the tenant\'s user and password, and their transactions go to the cluster\'s readers whose measured replica lag is within the bound, or to the writer when none qualifies (docs/read-endpoints.md). The read login must be nobody else\'s login: 409 LOGIN_TAKEN. ' +
            committed,
          responses: {
            '200': { description: 'Updated', content: jsonContent('TenantUpdated') },
            ...common,
            '400': errorResponse(
              'INVALID_REQUEST (also: clusterId and host together, port without host, an empty destination), MALFORMED_JSON, INVALID_CHARACTER; ' +
                'UNKNOWN_CLUSTER: the destination clusterId is not registered; DESTINATION_PASSWORD_REQUIRED: a move to a new fixed host or port, ' +
                'or a stored password that cannot be decrypted to re-encrypt it for the new cluster, needs destination.password (nothing was changed)',
            ),
            '404': errorResponse('NOT_FOUND'),
            '409': errorResponse('VERSION_CONFLICT, TENANT_DELETING, LOGIN_TAKEN (the read endpoint login `<database>_ro` is another tenant\'s login)'),
            '428': errorResponse('PRECONDITION_REQUIRED: no version given'),
          },
        },
        delete: {
          operationId: 'deleteTenant',
          summary: 'Remove from routing and delete; with purge=true also drop its database (or schema) and role',
          parameters: [ifMatch(false), { name: 'purge', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } }],
          description:
            'The tenant is first marked deleting and the poolers told; a purge then drops its data. If the poolers cannot be told, a purge is refused ' +
            'with 503 CONFIG_NOT_PUBLISHED before anything is dropped (repeat the DELETE); without purge the tenant is deleted and the 200 carries `warning`.',
          responses: {
            '200': { description: 'Deleted', content: jsonContent('TenantDeleted') },
            '404': errorResponse('NOT_FOUND'),
            '409': errorResponse('VERSION_CONFLICT, DATABASE_TAKEN, ROLE_TAKEN; with purge: CLUSTER_ADMIN_UNAVAILABLE, CLUSTER_ADMIN_SECRET_NOT_FOUND, CLUSTER_ADMIN_SECRET_INVALID, CLUSTER_ADMIN_SECRET_NOT_OWNED'),
            '502': errorResponse('PROVISIONING_FAILED during purge, CLUSTER_ADMIN_SECRET_DENIED, CLUSTER_ADMIN_SECRET_UNAVAILABLE; repeat to resume'),
            '503': errorResponse('CONFIG_NOT_PUBLISHED: with purge, the poolers could not be told the tenant is being deleted; nothing was dropped, repeat the DELETE'),
            ...common,
          },
        },
      },
      '/tenants/{id}/rotate-password': {
        parameters: [tenantIdParameter],
        post: {
          operationId: 'rotateTenantPassword',
          summary: 'New client password (returned once); the previous one stays valid for graceSeconds',
          description:
            'During the grace period (default 3600 s, at most 7 days) both the previous and the new password log in through the pooler ' +
            '(the new SCRAM verifier keeps the previous salt and iteration count so that one SCRAM exchange can try both; md5 verifiers, salted ' +
            'by the user name only, are both kept). graceSeconds 0 ends the previous password at once. A second rotation replaces the previous password. ' +
            committed,
          parameters: [ifMatch(false)],
          requestBody: { required: false, content: jsonContent('RotatePasswordRequest') },
          responses: {
            '200': { description: 'Rotated; `password` is shown only here', content: jsonContent('TenantWithPassword') },
            '404': errorResponse('NOT_FOUND'),
            '409': errorResponse('VERSION_CONFLICT, TENANT_DELETING'),
            ...common,
          },
        },
      },
      '/tenants/{id}/metrics': {
        parameters: [tenantIdParameter],
        get: {
          operationId: 'getTenantMetrics',
          responses: {
            '200': { description: 'Target and pool figures', content: jsonContent('TenantMetrics') },
            '404': errorResponse('NOT_FOUND'),
            '409': errorResponse('CLUSTER_ADMIN_SECRET_NOT_FOUND, CLUSTER_ADMIN_SECRET_INVALID, CLUSTER_ADMIN_SECRET_NOT_OWNED'),
            '502': errorResponse('TARGET_UNAVAILABLE, CLUSTER_ADMIN_SECRET_DENIED, CLUSTER_ADMIN_SECRET_UNAVAILABLE'),
            ...common,
          },
        },
      },
      '/tenants/{id}/statements': {
        parameters: [tenantIdParameter],
        get: {
          operationId: 'getTenantStatements',
          description:
            'The tenant\'s heaviest statement shapes (normalized texts: literals and numbers are ?) merged over the live poolers\' heartbeats: ' +
            'calls and time summed per identical text, the mean recomputed, most total time first, at most 10. Each pooler reports its own top 10 ' +
            'since its start (window.since is the earliest start), as of its last heartbeat (every 15 s by default).',
          responses: {
            '200': { description: 'Statement shapes', content: jsonContent('TenantStatements') },
            '404': errorResponse('NOT_FOUND'),
            ...common,
          },
        },
      },
      '/clusters': {
        post: {
          operationId: 'createCluster',
          description:
            'writer is required for kind static; for aurora / rds-instance it is discovered through the RDS API when absent. ' +
            'Idempotent: the same request for an existing clusterId answers 200 (header Idempotent-Replayed: true) and publishes the cluster\'s targets ' +
            'and the config version again, so a create whose publish failed is finished by repeating it; a different request is 409 ALREADY_EXISTS ' +
            '(same = kind, rds, members, admin — the password compared with the stored one — and, while the cluster is at epoch 0, an explicit writer/readers). ' +
            committed,
          requestBody: { required: true, content: jsonContent('CreateClusterRequest') },
          responses: {
            '201': { description: 'Created', content: jsonContent('ClusterCreated') },
            '200': { description: 'Replay of an earlier identical create; targets and config version published again', content: jsonContent('ClusterCreated') },
            '409': errorResponse('ALREADY_EXISTS (a different cluster under this id), WRITER_UNKNOWN'),
            ...common,
          },
        },
        get: {
          operationId: 'listClusters',
          responses: { '200': { description: 'All clusters', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: ref('Cluster') } } } } } }, ...common },
        },
      },
      '/clusters/{id}': {
        parameters: [clusterIdParameter],
        get: {
          operationId: 'getCluster',
          summary: 'The cluster, its connection budget, its tenants’ sizes and each pooler’s share of the budget (docs/fleet.md)',
          responses: {
            '200': { description: 'The cluster (ETag = its version)', content: jsonContent('ClusterDetail') },
            '404': errorResponse('NOT_FOUND'),
            ...common,
          },
        },
        patch: {
          operationId: 'updateCluster',
          summary: 'Set the connection budget: maxConnections (its basis) and/or connectionBudget; null goes back to the default',
          description:
            'The budget is connectionBudget when set, else maxConnections (default 100) minus 10 % (at least 5). The poolers split it, and each tenant’s ' +
            'pool size, between them (docs/fleet.md). A lowered budget is in force once every pooler has applied the new config version (GET /poolers). ' +
            committed,
          parameters: [ifMatch(false, 'cluster')],
          requestBody: { required: true, content: jsonContent('UpdateClusterRequest') },
          responses: {
            '200': { description: 'Updated', content: jsonContent('ClusterCreated') },
            '404': errorResponse('NOT_FOUND'),
            '409': errorResponse('VERSION_CONFLICT'),
            ...common,
          },
        },
        delete: {
          operationId: 'deleteCluster',
          summary: 'Delete a cluster no tenant uses, with its published targets',
          description: 'Refused with 409 CLUSTER_IN_USE while any tenant (in any status) has the cluster as its destination. ' + committed,
          parameters: [ifMatch(false, 'cluster', false)],
          responses: {
            '200': { description: 'Deleted', content: jsonContent('ClusterDeleted') },
            '404': errorResponse('NOT_FOUND'),
            '409': errorResponse('CLUSTER_IN_USE, VERSION_CONFLICT'),
            ...common,
          },
        },
      },
      '/poolers': {
        get: {
          operationId: 'listPoolers',
          parameters: [{ name: 'staleAfterSeconds', in: 'query', required: false, schema: { type: 'integer', minimum: 1, default: 300 } }],
          responses: { '200': { description: 'Fleet convergence', content: jsonContent('Poolers') }, ...common },
        },
      },
      '/openapi.json': {
        get: { operationId: 'getOpenApi', responses: { '200': { description: 'This document', content: { 'application/json': { schema: { type: 'object' } } } } } },
      },
    },
    components: {
      securitySchemes: {
        sigv4: { type: 'apiKey', name: 'Authorization', in: 'header', description: 'AWS Signature Version 4 (API Gateway IAM authorization)' },
      },
      schemas: {
        Error: jsonSchema(errorSchema, 'output'),
        CreateTenantRequest: jsonSchema(createTenantRequestSchema, 'input'),
        UpdateTenantRequest: jsonSchema(updateTenantRequestSchema, 'input'),
        RotatePasswordRequest: jsonSchema(rotatePasswordRequestSchema, 'input'),
        CreateClusterRequest: jsonSchema(createClusterRequestSchema, 'input'),
        UpdateClusterRequest: jsonSchema(updateClusterRequestSchema, 'input'),
        Tenant: jsonSchema(tenantViewSchema, 'output'),
        TenantWithPassword: jsonSchema(tenantWithPasswordSchema, 'output'),
        TenantPage: jsonSchema(tenantPageSchema, 'output'),
        TenantMetrics: jsonSchema(tenantMetricsSchema, 'output'),
        TenantStatements: jsonSchema(tenantStatementsSchema, 'output'),
        TenantUpdated: jsonSchema(tenantUpdatedSchema, 'output'),
        TenantDeleted: jsonSchema(tenantDeletedSchema, 'output'),
        Cluster: jsonSchema(clusterViewSchema, 'output'),
        ClusterDetail: jsonSchema(clusterDetailSchema, 'output'),
        ClusterCreated: jsonSchema(clusterCreatedSchema, 'output'),
        ClusterDeleted: jsonSchema(clusterDeletedSchema, 'output'),
        Poolers: jsonSchema(poolersResponseSchema, 'output'),
      },
    },
  };
}

let cached: Json | undefined;
/** Built once per container (pure function of the schemas). */
export function openApiDocument(): Json {
  cached ??= buildOpenApi();
  return cached;
}
