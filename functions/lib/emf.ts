// CloudWatch embedded metric format (EMF): a metric published as one JSON log line. In Lambda,
// stdout goes to CloudWatch Logs, which extracts the metric from any line whose root object has
// an `_aws` member (CloudWatch User Guide, "Specification: Embedded metric format"):
//
//   { "_aws": { "Timestamp": <ms since epoch>,
//               "CloudWatchMetrics": [ { "Namespace": ..., "Dimensions": [[<dimension names>]],
//                                        "Metrics": [ { "Name": ..., "Unit": ... } ] } ] },
//     "<dimension name>": "<value>", "<metric name>": <number> }
//
// Written with process.stdout.write, not console.log: Lambda's console.log prefixes a timestamp
// and request id (text log format) or wraps the line in a JSON envelope (JSON log format), and the
// latter hides `_aws` from the extractor. pino writes to stdout the same way, so the lines interleave.

/** The units CloudWatch accepts (MetricDatum.Unit); the ones this project uses. */
export type EmfUnit = 'Count' | 'None' | 'Seconds' | 'Milliseconds' | 'Bytes' | 'Percent';

export interface EmfMetric {
  name: string;
  value: number;
  unit: EmfUnit;
}

export interface EmfRecord {
  namespace: string;
  /** Dimension name → value; all of them form the metric's one dimension set. */
  dimensions: Record<string, string>;
  metrics: EmfMetric[];
  timestamp: Date;
}

export class EmfError extends Error {
  readonly code = 'EMF_INVALID' as const;
  constructor(message: string) {
    super(message);
    this.name = 'EmfError';
  }
}

/** Limits from the specification: a dimension set has at most 30 names, a directive at most 100 metrics. */
const MAX_DIMENSIONS = 30;
const MAX_METRICS = 100;

/** One EMF log line (no trailing newline). Throws EmfError on input CloudWatch would reject or misread. */
export function emfLine(r: EmfRecord): string {
  if (r.namespace.length < 1 || r.namespace.length > 255) throw new EmfError('namespace must be 1-255 characters');
  const dims = Object.entries(r.dimensions);
  if (dims.length > MAX_DIMENSIONS) throw new EmfError(`at most ${MAX_DIMENSIONS} dimensions`);
  if (r.metrics.length < 1 || r.metrics.length > MAX_METRICS) throw new EmfError(`1-${MAX_METRICS} metrics`);
  const time = r.timestamp.getTime();
  if (!Number.isFinite(time)) throw new EmfError('timestamp is not a valid date');
  // Dimension values and metric values share the root object with `_aws`: names must not collide.
  const root: Record<string, unknown> = {};
  const claim = (name: string, value: unknown): void => {
    if (name.length === 0 || name === '_aws' || Object.hasOwn(root, name)) throw new EmfError(`member name ${JSON.stringify(name)} is empty, reserved or used twice`);
    root[name] = value;
  };
  for (const [name, value] of dims) claim(name, value);
  for (const m of r.metrics) {
    if (!Number.isFinite(m.value)) throw new EmfError(`metric ${m.name} is not a finite number`);
    claim(m.name, m.value);
  }
  const aws = {
    Timestamp: time,
    CloudWatchMetrics: [
      {
        Namespace: r.namespace,
        Dimensions: [dims.map(([name]) => name)],
        Metrics: r.metrics.map((m) => ({ Name: m.name, Unit: m.unit })),
      },
    ],
  };
  return JSON.stringify({ _aws: aws, ...root });
}

/** Where EMF lines go; tests pass a collector. */
export type EmfWriter = (line: string) => void;

/** Writes one line to stdout (see the header for why not console.log). */
export const stdoutEmfWriter: EmfWriter = (line) => {
  process.stdout.write(line + '\n');
};
