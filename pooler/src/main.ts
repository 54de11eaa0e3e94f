// Entry point of the pooler process: `switchyard pooler --config FILE`. SIGHUP reloads the file,
// SIGTERM/SIGINT drain (stop accepting, let transactions finish within shutdown_timeout) and exit.
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config/load.ts';
import { createLogger } from './log.ts';
import { startPooler } from './pooler.ts';

export async function poolerCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { config: { type: 'string', short: 'c' } }, allowPositionals: false });
  const file = values.config ?? process.env.SWITCHYARD_CONFIG;
  if (!file) {
    process.stderr.write('usage: switchyard pooler --config FILE\n');
    return 2;
  }
  let loaded;
  try {
    loaded = loadConfigFile(file);
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return 1;
  }
  const log = createLogger(loaded.config.log_level);
  const pooler = await startPooler(loaded.config, { logger: log, baseDir: loaded.baseDir });
  process.on('SIGHUP', () => {
    try {
      const next = loadConfigFile(file);
      pooler.reload(next.config);
    } catch (err) {
      // A bad file keeps the running configuration.
      log.error({ err: (err as Error).message }, 'reload failed; keeping the current configuration');
    }
  });
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      pooler.close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
