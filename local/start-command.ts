// `switchyard start` (what `npm start` runs): starts the local stack, prints where everything
// listens and what to try next, and stays in the foreground until Ctrl-C (SIGINT) or SIGTERM,
// then stops every process it started. A second Ctrl-C while stopping skips the drain.
import { relative, resolve } from 'node:path';
import { UsageError } from '../shared/src/usage-error.ts';
import { DEFAULT_PORTS, defaultStateDir, parseStartOptions, START_USAGE, wantsHelp } from './options.ts';
import { LocalStack, type StackInfo } from './stack.ts';

const ROOT = resolve(import.meta.dirname, '..');

export interface StartIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** A path as the user would type it from the checkout (relative when inside it). */
function shown(p: string): string {
  const r = relative(process.cwd(), p);
  return r && !r.startsWith('..') ? r : p;
}

function tryLines(rows: [string, string][]): string[] {
  const w = Math.max(...rows.map(([c]) => c.length));
  return rows.map(([c, why]) => `  ${c.padEnd(w)}   # ${why}`);
}

/** The console's address: the token rides in the fragment, which the browser never sends (RFC 3986 §3.5). */
export function consoleUrl(api: string, apiToken: string): string {
  return `${api}/#token=${apiToken}`;
}

export function summary(info: StackInfo, apiIsDefault: boolean, apiToken: string): string {
  const [a, b] = info.nodes;
  const cli = `${resolve(ROOT, 'node_modules/.bin/node')} ${resolve(ROOT, 'bin/switchyard.js')}`;
  const lines = [
    '',
    `Switchyard is running (state in ${shown(info.stateDir)})`,
    '',
    `  PostgreSQL     node a  ${a?.host}:${a?.port}   node b  ${b?.host}:${b?.port}   (cluster "${info.clusterId}": a primary and a streaming standby)`,
    `  Control API    ${info.api}   (127.0.0.1 only; clients send the token in ${shown(info.apiTokenFile)})`,
    `  Console        ${consoleUrl(info.api, apiToken)}   (the token in this address opens the API: keep it private)`,
    `  Pooler         ${info.pooler.host}:${info.pooler.port}   (admin console: dbname=${info.adminConsole.database} user=${info.adminConsole.user}, password in ${shown(info.adminConsole.passwordFile)})`,
    `  Metrics        ${info.metrics}`,
    `  Logs           ${shown(info.logs.api)}, ${shown(info.logs.pooler)}`,
    ...(info.demo !== undefined ? ['', `Connect to the demo tenant through the pooler:`, '', `  ${info.demo.psql}`] : []),
    '',
    'Next, in another terminal:',
    '',
    `  alias switchyard='${cli}'`,
    ...(apiIsDefault ? [] : [`  export SWITCHYARD_API=${info.api}`]),
    ...(info.stateDir === defaultStateDir() ? [] : [`  export SWITCHYARD_STATE_DIR=${info.stateDir}   # where the CLI finds the API token`]),
    ...tryLines([
      ['switchyard tenants create acme', 'provisions a database; prints the password and a psql line'],
      ['switchyard status', 'pools, clients, the config version the pooler applied'],
      [`switchyard clusters failover ${info.clusterId}`, 'stop the primary, promote the standby, clients carry on'],
      ['npm run demo', 'two tenants, a write load and a failover, with a timeline'],
    ]),
    '',
    'Press Ctrl-C to stop everything.',
    '',
  ];
  return lines.join('\n');
}

export async function startCommand(argv: string[], io: StartIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  if (wantsHelp(argv)) {
    io.stdout.write(START_USAGE);
    return 0;
  }
  let stack: LocalStack;
  try {
    stack = new LocalStack(parseStartOptions(argv));
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`switchyard start: ${err.message}\n\n${START_USAGE}`);
      return 2;
    }
    throw err;
  }
  const progress = (m: string): void => void io.stdout.write(`· ${m}\n`);

  let signalled = 0;
  let starting = true;
  let wake: (() => void) | undefined;
  const stopped = new Promise<void>((r) => (wake = r));
  const onSignal = (signal: NodeJS.Signals): void => {
    signalled++;
    if (starting) {
      // Stopping half-way through start-up would race it (a process started after we stopped
      // everything would be left behind): finish starting, then stop at once.
      if (signalled === 1) io.stdout.write(`\n${signal}: will stop as soon as start-up finishes\n`);
    } else if (signalled === 1) {
      io.stdout.write(`\n${signal}: stopping (press Ctrl-C again to skip waiting for open transactions)\n`);
    } else {
      io.stdout.write('stopping without waiting\n');
      void stack.stop({ force: true, progress }).catch(() => undefined);
    }
    wake?.();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);

  let code = 0;
  try {
    io.stdout.write(`Starting Switchyard on this machine (state in ${shown(stack.layout.dir)})\n`);
    const info = await stack.start(progress);
    starting = false;
    if (signalled === 0) {
      io.stdout.write(summary(info, stack.options.ports.api === DEFAULT_PORTS.api, stack.apiToken));
      io.stdout.write('Switchyard is ready.\n');
      stack.onPoolerExit = (exitCode) => {
        io.stderr.write(`switchyard: the pooler exited unexpectedly (code ${exitCode}); see ${stack.layout.poolerLog}. Stopping.\n`);
        code = 1;
        wake?.();
      };
      await stopped;
    }
  } catch (err) {
    starting = false;
    const e = err as Error & { code?: string };
    io.stderr.write(`switchyard start: ${e.message}\n`);
    // Our own errors say what to do; for anything else the stack trace helps, on request.
    if (process.env.SWITCHYARD_DEBUG) io.stderr.write(`${e.stack ?? ''}\n`);
    else if (!e.code) io.stderr.write('(SWITCHYARD_DEBUG=1 shows where it failed)\n');
    code = 1;
  }
  try {
    const touched = stack.touched;
    await stack.stop({ progress });
    if (touched) io.stdout.write('Stopped.\n');
  } catch (err) {
    io.stderr.write(`switchyard start: ${(err as Error).message}\n`);
    code = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
  }
  if (process.env.SWITCHYARD_DEBUG) setTimeout(() => io.stderr.write(`still open: ${process.getActiveResourcesInfo().join(', ')}\n`), 2000).unref();
  return code;
}
