// POST /tenants/{id}/rotate-password — a new client password (given or generated, returned once).
// The previous verifiers stay valid for `graceSeconds` (default 3600) so clients can roll over
// without an outage: they move to clientAuth.previous with an expiresAt, replacing any older
// previous. graceSeconds 0 ends the old password at once. The destination password is untouched.
//
// The new SCRAM verifier keeps the current one's salt and iteration count while a grace period
// runs: a SCRAM exchange sends ONE salt and count in its server-first-message (RFC 5802 §3,
// RFC 7677), so the pooler can test the old and the new verifier in the same exchange only when
// they share both (pooler/src/frontend/login.ts filters on them). With graceSeconds 0 nothing needs
// the old salt and a fresh one is drawn. md5 verifiers need nothing of the kind: md5's only salt is
// the user name, which a rotation does not change, and the login tries every md5 verifier it has.
import { createMd5Verifier, createScramVerifier, parseVerifier } from '../../shared/src/auth/verifier.ts';
import { VersionConflictError } from '../../shared/src/domain/errors.ts';
import type { ClientAuth } from '../../shared/src/domain/tenant.ts';
import { announceCommitted } from '../lib/announce.ts';
import { defaultDeps, type Deps } from '../lib/deps.ts';
import { apiHandler, type ApiRequest, type ApiResponse, type DepsSource } from '../lib/http.ts';
import { generatePassword } from '../lib/passwords.ts';
import { etag, expectedVersion, parseRequest, rotatePasswordRequestSchema, tenantIdParam } from '../lib/schemas.ts';
import { assertNotDeleting, loadTenant } from '../lib/tenants.ts';
import { tenantView } from '../lib/views.ts';

/** The salt and iteration count of a stored SCRAM verifier (the domain schema guarantees one). */
function saltOf(scram: string): { salt: Buffer; iterations: number } {
  const v = parseVerifier(scram);
  if (v.kind !== 'scram') throw new Error('stored clientAuth.scram is not a SCRAM verifier');
  return { salt: v.salt, iterations: v.iterations };
}

export async function rotatePassword(req: ApiRequest, deps: Deps): Promise<ApiResponse> {
  const tenantId = tenantIdParam(req.pathParameters.id);
  req.log.setBindings({ tenantId });
  const body = parseRequest(rotatePasswordRequestSchema, req.body ?? {}, 'password rotation');
  const current = await loadTenant(deps.adapters, tenantId);
  // The lock is optional here: without one, the rotation applies to whatever version we read.
  const expected = expectedVersion(req.headers['if-match'], body.version) ?? current.version;
  if (current.version !== expected) throw new VersionConflictError('tenant', tenantId, expected, current.version);
  assertNotDeleting(current);

  const password = body.password ?? generatePassword();
  const withMd5 = body.md5 ?? current.clientAuth.md5 !== undefined;
  const clientAuth: ClientAuth = { scram: createScramVerifier(password, body.graceSeconds > 0 ? saltOf(current.clientAuth.scram) : {}) };
  if (withMd5) clientAuth.md5 = createMd5Verifier(password, current.client.user);
  if (body.graceSeconds > 0) {
    const expiresAt = new Date(deps.now().getTime() + body.graceSeconds * 1000).toISOString();
    clientAuth.previous = { scram: current.clientAuth.scram, expiresAt };
    if (current.clientAuth.md5 !== undefined) clientAuth.previous.md5 = current.clientAuth.md5;
  }

  const updated = await deps.adapters.tenants.update(tenantId, expected, { clientAuth });
  // Committed: from here the answer is 200 with the password, whatever the announce does.
  const warning = await announceCommitted(deps.adapters, req.log);
  req.log.info({ version: updated.version, graceSeconds: body.graceSeconds }, 'tenant password rotated');
  return { status: 200, body: { tenant: tenantView(updated), password, ...(warning ? { warning } : {}) }, headers: { etag: etag(updated.version) } };
}

export function makeHandler(deps: DepsSource<Deps>) {
  return apiHandler(deps, rotatePassword);
}

export const handler = makeHandler(defaultDeps);
