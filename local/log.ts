// The local stack's control-plane log: JSON lines (pino) in `<stateDir>/logs/api.log`, so the
// terminal keeps only the human summary. The same redaction as the Lambda logger (by key and in
// error/message text, functions/lib/logger.ts): a secret logged by mistake is censored, never written.
import { pino, type Logger } from 'pino';
import { redactingOptions } from '../functions/lib/logger.ts';

export function createFileLogger(file: string, level: string): Logger {
  return pino(
    {
      name: 'switchyard-local',
      level,
      ...redactingOptions(),
    },
    pino.destination({ dest: file, append: true, mkdir: true, sync: true }),
  );
}
