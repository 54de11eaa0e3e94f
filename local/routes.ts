// The route table of the local control API: every route of the deployed HTTP API (stacks/
// capabilities.ts API_ROUTES, checked by local/routes.test.ts) bound to the same handler module's
// makeHandler(deps), so a request runs exactly the code that runs in Lambda — only the adapters
// differ (local files and keys instead of DynamoDB, KMS and SSM). Local-only routes (status,
// failover) are added by the stack.
import { makeHandler as clustersCreate } from '../functions/api/clusters-create.ts';
import { makeHandler as clustersDelete } from '../functions/api/clusters-delete.ts';
import { makeHandler as clustersGet } from '../functions/api/clusters-get.ts';
import { makeHandler as clustersList } from '../functions/api/clusters-list.ts';
import { makeHandler as clustersUpdate } from '../functions/api/clusters-update.ts';
import { makeHandler as openApi } from '../functions/api/openapi.ts';
import { makeHandler as poolersList } from '../functions/api/poolers-list.ts';
import { makeHandler as tenantsCreate } from '../functions/api/tenants-create.ts';
import { makeHandler as tenantsDelete } from '../functions/api/tenants-delete.ts';
import { makeHandler as tenantsGet } from '../functions/api/tenants-get.ts';
import { makeHandler as tenantsList } from '../functions/api/tenants-list.ts';
import { makeHandler as tenantsMetrics } from '../functions/api/tenants-metrics.ts';
import { makeHandler as tenantsStatements } from '../functions/api/tenants-statements.ts';
import { makeHandler as tenantsRotatePassword } from '../functions/api/tenants-rotate-password.ts';
import { makeHandler as tenantsUpdate } from '../functions/api/tenants-update.ts';
import type { Deps } from '../functions/lib/deps.ts';
import type { ApiLambdaHandler } from './api-server.ts';
import type { Route } from './router.ts';

type Factory = (deps: Deps) => ApiLambdaHandler;

/** Route key → handler module, as deployed (one Lambda function per route). */
export const API_ROUTE_FACTORIES: ReadonlyArray<readonly [string, Factory]> = [
  ['POST /tenants', tenantsCreate],
  ['GET /tenants', tenantsList],
  ['GET /tenants/{id}', tenantsGet],
  ['PATCH /tenants/{id}', tenantsUpdate],
  ['DELETE /tenants/{id}', tenantsDelete],
  ['POST /tenants/{id}/rotate-password', tenantsRotatePassword],
  ['GET /tenants/{id}/metrics', tenantsMetrics],
  ['GET /tenants/{id}/statements', tenantsStatements],
  ['POST /clusters', clustersCreate],
  ['GET /clusters', clustersList],
  ['GET /clusters/{id}', clustersGet],
  ['PATCH /clusters/{id}', clustersUpdate],
  ['DELETE /clusters/{id}', clustersDelete],
  ['GET /poolers', poolersList],
  ['GET /openapi.json', openApi],
];

export function apiRoutes(deps: Deps): Route<ApiLambdaHandler>[] {
  return API_ROUTE_FACTORIES.map(([routeKey, make]) => ({ routeKey, handler: make(deps) }));
}
