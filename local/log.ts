// The local stack's control-plane log: JSON lines (pino) in `<stateDir>/logs/api.log`, so the
// terminal keeps only the human summary. Same redaction as the Lambda logger
// (functions/lib/logger.ts): a secret logged by mistake is censored, never written.
import { pino, type Logger } from 'pino';

const SECRET_KEYS = ['password', 'adminPassword', 'passwordCiphertext', 'ciphertext', 'verifier', 'verifiers', 'clientAuth', 'scram', 'md5', 'body', 'authorization'];

export function createFileLogger(file: string, level: string): Logger {
  return pino(
    {
      name: 'switchyard-local',
      level,
      redact: { paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)], censor: '[redacted]' },
    },
    pino.destination({ dest: file, append: true, mkdir: true, sync: true }),
  );
}
