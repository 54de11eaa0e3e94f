// Errors of the benchmark harness: classes with a stable `code`, like the rest of the project.

export class BenchOptionError extends Error {
  readonly code = 'BENCH_BAD_OPTION';
  override readonly name = 'BenchOptionError';
}

export class PgbenchOutputError extends Error {
  readonly code = 'BENCH_PGBENCH_OUTPUT_UNPARSEABLE';
  override readonly name = 'PgbenchOutputError';
}

export class ProcParseError extends Error {
  readonly code = 'BENCH_PROC_UNPARSEABLE';
  override readonly name = 'ProcParseError';
}

export class PoolerStartError extends Error {
  readonly code = 'BENCH_POOLER_START_FAILED';
  override readonly name = 'PoolerStartError';
}
