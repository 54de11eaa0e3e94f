// The control plane's pino logger. Handlers log ids (request, tenant, cluster), never secrets; the
// redaction list is a second line of defence should an object holding one be logged by mistake.
import { pino, type Logger } from 'pino';

export type { Logger };

/** Keys that may hold a secret anywhere in a logged object (pino redact paths, one level deep). */
const SECRET_KEYS = [
  'password',
  'adminPassword',
  'passwordCiphertext',
  'adminPasswordCiphertext',
  'ciphertext',
  'verifier',
  'verifiers',
  'clientAuth',
  'scram',
  'md5',
  'body',
  'authorization',
];

export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  const level = opts.level ?? process.env.SWITCHYARD_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  return pino({
    name: opts.name ?? 'switchyard-control-plane',
    level,
    base: { stage: process.env.SWITCHYARD_STAGE },
    redact: { paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)], censor: '[redacted]' },
  });
}
