// Entry point of the pooler process:
//   switchyard pooler --config FILE [--watch]                      tenants from the YAML file
//   switchyard pooler --source local --state-dir DIR [--config F]  the local control plane's state
//   switchyard pooler --source aws [--config F]                    DynamoDB + SSM + KMS (env: SWITCHYARD_TABLE,
//                                                                  SWITCHYARD_KMS_KEY_ID, SWITCHYARD_STAGE, AWS_REGION)
// With local/aws the optional file holds only listen/limits/log settings (config/sources/base-config.ts).
// SIGHUP re-reads the source (SourceController.reload, as do the admin console's RELOAD and a
// pushed config version: docs/architecture.md, "A reload"); SIGTERM/SIGINT drain (stop accepting,
// let transactions finish within shutdown_timeout) and exit.
// --workers N (or auto: one per core) runs N worker processes on the same port under a supervisor
// that makes them one pooler for reload, drain, the admin console and metrics (cluster/,
// docs/workers.md). Without it (N = 1) nothing of that is loaded: the process is the pooler.
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config/load.ts';
import type { PoolerConfig } from './config/schema.ts';
import { loadBaseConfig } from './config/sources/base-config.ts';
import { defaultPoolerId, SourceController } from './config/sources/controller.ts';
import { FileSource } from './config/sources/file-source.ts';
import type { ConfigSource, SourceKind, SourceLoad } from './config/sources/types.ts';
import type { SecretBox } from '../../shared/src/ports/secret-box.ts';
import { createLogger, type Logger } from './log.ts';
import { startPooler, type Pooler } from './pooler.ts';
import type { AutoNode } from './cluster/auto-node.ts';
import type { PeerLookup } from './cluster/peer-directory.ts';
import { parseWorkers, workerPlanFromEnv, type WorkerPlan } from './cluster/worker-plan.ts';
import { startBudgetLease } from './config/sources/budget-host.ts';
import type { BudgetLease } from './config/sources/budget-lease.ts';

const USAGE = `usage: switchyard pooler --config FILE [--watch] [--workers N|auto]
       switchyard pooler --source local --state-dir DIR [--config FILE] [--workers N|auto]
       switchyard pooler --source aws [--config FILE] [--workers N|auto]
`;

interface Plan {
  kind: SourceKind;
  file: string | undefined;
  stateDir: string | undefined;
  watch: boolean;
  /** Worker processes (1 = this process is the pooler). */
  workers: number;
}

function plan(argv: string[]): Plan | string {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string', short: 'c' },
        source: { type: 'string' },
        'state-dir': { type: 'string' },
        watch: { type: 'boolean' },
        workers: { type: 'string', short: 'w' },
      },
      allowPositionals: false,
    }));
  } catch (err) {
    return (err as Error).message;
  }
  const kind = values.source ?? process.env.SWITCHYARD_SOURCE ?? 'file';
  if (kind !== 'file' && kind !== 'local' && kind !== 'aws') return `unknown source "${kind}" (file, local or aws)`;
  const file = values.config ?? process.env.SWITCHYARD_CONFIG;
  const stateDir = values['state-dir'] ?? process.env.SWITCHYARD_STATE_DIR;
  if (kind === 'file' && !file) return 'the file source needs --config FILE';
  if (kind === 'local' && !stateDir) return 'the local source needs --state-dir DIR';
  if (values.watch && kind !== 'file') return '--watch applies to the file source only';
  const workers = parseWorkers(values.workers ?? process.env.SWITCHYARD_WORKERS);
  if (typeof workers === 'string') return workers;
  return { kind, file: file || undefined, stateDir, watch: values.watch ?? false, workers };
}

async function openSource(p: Plan, log: Logger, base: () => PoolerConfig, worker: WorkerPlan | undefined): Promise<ConfigSource> {
  switch (p.kind) {
    case 'file':
      return new FileSource(p.file!, { log, watch: p.watch });
    case 'local': {
      // Loaded only when asked for, like the AWS source: its stores and topology bring pg (≈ 1.7 MB of heap).
      const { createLocalSource } = await import('./config/sources/local-source.ts');
      return createLocalSource(p.stateDir!, { log, base });
    }
    case 'aws': {
      // Loaded only when asked for: the AWS SDK costs tens of MB of memory in every process.
      const { createAwsSource } = await import('./config/sources/aws-source.ts');
      // A worker decrypts through its supervisor: one KMS call per password per machine (cluster/secret-relay.ts).
      let secrets: SecretBox | undefined;
      if (worker !== undefined) {
        const [{ RelayedSecretBox }, { send }] = await Promise.all([import('./cluster/secret-relay.ts'), import('./cluster/worker.ts')]);
        secrets = new RelayedSecretBox(send);
      }
      return createAwsSource({ log, base, ...(secrets ? { secrets } : {}) });
    }
  }
}

export async function poolerCommand(argv: string[]): Promise<number> {
  const p = plan(argv);
  if (typeof p === 'string') {
    process.stderr.write(`switchyard: ${p}\n${USAGE}`);
    return 2;
  }
  let worker: WorkerPlan | undefined;
  try {
    worker = workerPlanFromEnv(process.env);
    if (worker !== undefined && process.send === undefined) throw new Error('SWITCHYARD_WORKER is set, but this process was not started by a pooler supervisor');
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return 1;
  }
  if (worker === undefined && p.workers > 1) return superviseWorkers(p);
  let log: Logger;
  let source: ConfigSource;
  let initial: SourceLoad;
  let baseDir: string;
  try {
    // The settings file first: it names the log level, and a bad one should fail before anything starts.
    const settings = p.kind === 'file' ? loadConfigFile(p.file!) : loadBaseConfig(p.file, p.kind);
    baseDir = settings.baseDir;
    log = createLogger(settings.config.log_level);
    if (worker !== undefined) log = log.child({ worker: worker.slot });
    source = await openSource(p, log, () => loadBaseConfig(p.file, p.kind).config, worker);
    if (worker !== undefined) {
      const { WorkerSource } = await import('./cluster/worker-source.ts');
      source = new WorkerSource(source, worker);
    }
    initial = await source.load();
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return 1;
  }
  if (worker !== undefined) {
    // The supervisor asked IMDS once and passes SWITCHYARD_INSTANCE_ID on.
    const { runWorker } = await import('./cluster/worker.ts');
    // Leased node ids (cluster.node_id auto): other machines' nodes are found in the store.
    let peers: PeerLookup | undefined;
    if (worker.nodeIds !== undefined && source.nodeLeases !== undefined) {
      const { PeerDirectory } = await import('./cluster/peer-directory.ts');
      peers = new PeerDirectory({ store: source.nodeLeases, log, own: worker.nodeIds });
    }
    return runWorker({ plan: worker, log, source, initial, baseDir, instanceId: process.env.SWITCHYARD_INSTANCE_ID, ...(peers ? { peers } : {}) });
  }
  const poolerId = process.env.SWITCHYARD_POOLER_ID || defaultPoolerId(initial.config.listen.port);
  // `cluster.node_id: auto`: lease a node id and open the peer port before the first client gets a key.
  let pooler: Pooler | undefined;
  let auto: AutoNode | undefined;
  let budget: BudgetLease | undefined;
  try {
    if (initial.config.cluster?.node_id === 'auto') {
      if (source.nodeLeases === undefined) throw new Error('cluster.node_id auto needs --source local or aws: the node ids are leased from its store');
      const { startAutoNode } = await import('./cluster/auto-node.ts');
      auto = await startAutoNode({
        settings: initial.config,
        store: source.nodeLeases,
        count: 1,
        poolerId,
        log,
        deliver: (processId, secretKey) => pooler?.cancelOwn(processId, secretKey) ?? Promise.resolve(false),
      });
    }
    pooler = await startPooler(initial.config, { logger: log, baseDir, ...(auto ? { nodeId: auto.ids[0]!, peers: auto.peers } : {}) });
    // Fleet budgets (docs/fleet.md): limits 0 from here on until the first lease.
    budget = startBudgetLease(pooler, source, poolerId, log);
  } catch (err) {
    await auto?.close();
    await source.close().catch(() => undefined);
    process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return 1;
  }
  const instanceId = process.env.SWITCHYARD_INSTANCE_ID ?? (p.kind === 'aws' ? await (await import('./config/sources/aws-source.ts')).instanceIdFromImds() : undefined);
  const controller = new SourceController(pooler, source, initial, {
    log,
    ...(process.env.SWITCHYARD_POOLER_ID ? { poolerId: process.env.SWITCHYARD_POOLER_ID } : {}),
    ...(instanceId ? { instanceId } : {}),
  });
  controller.start();
  const removePidFile = p.kind === 'local' ? (await import('./config/sources/local-source.ts')).writePidFile(p.stateDir!) : undefined;
  log.info({ source: p.kind, version: initial.version, tenants: initial.config.tenants.length }, 'configuration source ready');
  // Failures are logged by the controller; the running configuration stays.
  process.on('SIGHUP', () => void controller.reload('SIGHUP').catch(() => undefined));
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      removePidFile?.();
      // The peer port and the lease outlive the drain: cancels for draining clients still arrive.
      Promise.all([controller.stop(), pooler!.close()])
        .then(() => budget?.leave())
        .then(() => auto?.close())
        .then(
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

/** The supervisor of `--workers N` (cluster/supervise.ts): reads only the settings; the workers read the source. */
async function superviseWorkers(p: Plan): Promise<number> {
  let settings;
  try {
    settings = p.kind === 'file' ? loadConfigFile(p.file!) : loadBaseConfig(p.file, p.kind);
  } catch (err) {
    process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return 1;
  }
  const { supervise } = await import('./cluster/supervise.ts');
  return supervise({ count: p.workers, kind: p.kind, stateDir: p.stateDir, settings: settings.config, log: createLogger(settings.config.log_level) });
}
