// `npm run fuzz -- [--inputs N] [--seconds N] [--seed S] [--lanes N] [--rss-limit-mb N]
//                  [--canary-bound-ms N] [--replay SEED,SEED…]`
// The protocol fuzzer for as long as asked (default: 1,000,000 inputs). Prints progress on stderr
// and the report on stdout; exits 1 on any finding (a crash, an error-level log line, a canary
// failure, RSS above the bound). A crash report names the connection seeds to replay.
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { formatReport, runFuzz } from './fuzz.ts';

const { values } = parseArgs({
  options: {
    inputs: { type: 'string' },
    seconds: { type: 'string' },
    seed: { type: 'string' },
    lanes: { type: 'string' },
    'rss-limit-mb': { type: 'string' },
    'canary-bound-ms': { type: 'string' },
    replay: { type: 'string' },
  },
  allowPositionals: false,
});

function int(name: string, v: string | undefined, fallback: number | undefined): number | undefined {
  if (v === undefined) return fallback;
  const n = Number(v.replaceAll('_', ''));
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`fuzz: --${name} must be a positive integer, got "${v}"\n`);
    process.exit(2);
  }
  return n;
}

const seconds = int('seconds', values.seconds, undefined);
const inputs = int('inputs', values.inputs, seconds === undefined ? 1_000_000 : undefined);
const seed = values.seed ?? randomBytes(6).toString('hex');
process.stderr.write(`fuzz: seed ${seed} (reproduce a connection with --replay ${seed}/<lane>/<n>)\n`);
const report = await runFuzz({
  seed,
  ...(seconds === undefined ? {} : { seconds }),
  ...(inputs === undefined ? {} : { inputs }),
  lanes: int('lanes', values.lanes, 12)!,
  rssLimitMb: int('rss-limit-mb', values['rss-limit-mb'], 512)!,
  canaryBoundMs: int('canary-bound-ms', values['canary-bound-ms'], 5000)!,
  ...(values.replay === undefined ? {} : { replay: values.replay.split(',') }),
  progress: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${formatReport(report)}\n`);
const bad =
  report.crashes.length > 0 || report.errorLines.length > 0 || report.canary.failures.length > 0 || report.rss.peakMb > report.rss.limitMb || report.badBackendStreams > 0;
process.exit(bad ? 1 : 0);
