// The control plane's pino logger. Handlers log ids (request, tenant, cluster), never secrets. Two
// lines of defence should one be logged by mistake:
// - by key: values under SECRET_KEYS are censored (pino `redact`);
// - by content: every string of a logged object — an error's message, stack, cause and inner
//   errors included — and the message itself pass through redactText (shared/src/redact-text.ts),
//   which replaces passwords in connection strings and key/values, verifiers and ciphertext blobs.
//   An unexpected error's text is otherwise logged as is, and it may quote a password or a
//   connection string (a driver, the AWS SDK, a server message).
import { pino, type DestinationStream, type Logger, type LoggerOptions as PinoOptions } from 'pino';
import { redactDeep, redactText } from '../../shared/src/redact-text.ts';

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

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** Where the JSON lines go (default stdout, which Lambda sends to CloudWatch Logs); tests capture them here. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? process.env.SWITCHYARD_LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const options: PinoOptions = { name: opts.name ?? 'switchyard-control-plane', level, base: { stage: process.env.SWITCHYARD_STAGE }, ...redactingOptions() };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** The redaction part of the options, for every control-plane logger (Lambda and the local stack's file log). */
export function redactingOptions(): Pick<PinoOptions, 'redact' | 'formatters' | 'serializers'> {
  return {
    redact: { paths: [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)], censor: '[redacted]' },
    // The logged object, Errors serialized as pino does (message and stack with their causes,
    // AggregateError's inner errors) wherever they sit, then redacted; then the message. `err` is
    // serialized here already, so pino's own err serializer must not run again.
    formatters: { log: (obj) => redactDeep(obj, (e) => pino.stdSerializers.err(e)) as Record<string, unknown> },
    serializers: { err: (e: unknown) => e, msg: (m: unknown) => (typeof m === 'string' ? redactText(m) : m) },
  };
}
