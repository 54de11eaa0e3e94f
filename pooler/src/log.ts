// Structured JSON logs (pino). Connection-scoped loggers carry tenant and connection ids; callers
// never pass passwords, verifiers, ciphertexts or query text/parameters.
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = process.env.SWITCHYARD_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { svc: 'switchyard-pooler', pid: process.pid },
    redact: { paths: ['password', '*.password', 'verifier', '*.verifiers', 'ciphertext'], censor: '[redacted]' },
  });
}
