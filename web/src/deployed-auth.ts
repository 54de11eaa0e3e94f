// Deployed stages: sign in with the stage's Cognito user pool (hosted UI, authorization code with
// PKCE: RFC 7636), exchange the ID token for temporary AWS credentials of the console role through
// the identity pool (GetId + GetCredentialsForIdentity), and sign every API call with SigV4
// (aws4fetch) — the API stays IAM-authorized, as for the CLI. docs/deploy.md explains the design.
import { AwsClient } from 'aws4fetch';
import type { Transport } from './api.ts';

export interface DeployedAuthConfig {
  apiUrl: string;
  region: string;
  userPoolId: string;
  userPoolClientId: string;
  identityPoolId: string;
  authDomain: string;
}

const VERIFIER_KEY = 'switchyard.pkceVerifier';
const ID_TOKEN_KEY = 'switchyard.idToken';

function b64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

async function redirectToLogin(cfg: DeployedAuthConfig): Promise<never> {
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.userPoolClientId,
    redirect_uri: `${location.origin}/`,
    scope: 'openid email',
    code_challenge_method: 'S256',
    code_challenge: challenge,
  });
  location.assign(`${cfg.authDomain}/oauth2/authorize?${q}`);
  return new Promise<never>(() => undefined);
}

async function idToken(cfg: DeployedAuthConfig): Promise<string> {
  const code = new URLSearchParams(location.search).get('code');
  if (code) {
    const verifier = sessionStorage.getItem(VERIFIER_KEY) ?? '';
    history.replaceState(null, '', '/#/tenants');
    const res = await fetch(`${cfg.authDomain}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: cfg.userPoolClientId, code, redirect_uri: `${location.origin}/`, code_verifier: verifier }),
    });
    if (!res.ok) return redirectToLogin(cfg);
    const tok = (await res.json()) as { id_token: string };
    sessionStorage.setItem(ID_TOKEN_KEY, tok.id_token);
    return tok.id_token;
  }
  const saved = sessionStorage.getItem(ID_TOKEN_KEY);
  if (saved) {
    const exp = (JSON.parse(atob(saved.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { exp: number }).exp;
    if (exp * 1000 > Date.now() + 60_000) return saved;
  }
  return redirectToLogin(cfg);
}

async function identityCall<T>(cfg: DeployedAuthConfig, target: string, body: unknown): Promise<T> {
  const res = await fetch(`https://cognito-identity.${cfg.region}.amazonaws.com/`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `AWSCognitoIdentityService.${target}` },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`Cognito identity ${target} failed: HTTP ${res.status}`);
  return (await res.json()) as T;
}

export async function signIn(cfg: DeployedAuthConfig): Promise<Transport> {
  let client: AwsClient | undefined;
  let expires = 0;
  const credentials = async (): Promise<AwsClient> => {
    if (client && expires > Date.now() + 60_000) return client;
    const token = await idToken(cfg);
    const logins = { [`cognito-idp.${cfg.region}.amazonaws.com/${cfg.userPoolId}`]: token };
    const { IdentityId } = await identityCall<{ IdentityId: string }>(cfg, 'GetId', { IdentityPoolId: cfg.identityPoolId, Logins: logins });
    const { Credentials: c } = await identityCall<{ Credentials: { AccessKeyId: string; SecretKey: string; SessionToken: string; Expiration: number } }>(cfg, 'GetCredentialsForIdentity', { IdentityId, Logins: logins });
    client = new AwsClient({ accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretKey, sessionToken: c.SessionToken, service: 'execute-api', region: cfg.region });
    expires = c.Expiration * 1000;
    return client;
  };
  await credentials();
  const base = cfg.apiUrl.replace(/\/$/, '');
  return async (path, init) => (await credentials()).fetch(`${base}${path}`, { ...init, credentials: 'omit' });
}
