// `switchyard pooler ... --workers N` with N > 1: this process becomes the supervisor
// (supervisor.ts) and the workers run the same command line with SWITCHYARD_WORKER set. Signals
// are the single process's: SIGHUP reloads (every worker), SIGTERM/SIGINT drain (every worker)
// and exit 0 once all have exited. The local control plane's pid file names the supervisor: its
// SIGHUP push reaches every worker.
import type { PoolerConfig } from '../config/schema.ts';
import { createAwsNodeLeaseStore, createAwsSecretBox, instanceIdFromImds } from '../config/sources/aws-source.ts';
import { defaultPoolerId } from '../config/sources/controller.ts';
import { writePidFile } from '../config/sources/local-source.ts';
import type { SourceKind } from '../config/sources/types.ts';
import type { Logger } from '../log.ts';
import { createFileStores } from '../../../shared/src/local/file-store.ts';
import type { NodeLeaseStore } from '../../../shared/src/ports/store.ts';
import { startAutoNode, type AutoNode } from './auto-node.ts';
import { SharedDecrypts } from './secret-relay.ts';
import { Supervisor } from './supervisor.ts';

export interface SuperviseOptions {
  readonly count: number;
  readonly kind: SourceKind;
  readonly stateDir: string | undefined;
  readonly settings: PoolerConfig;
  readonly log: Logger;
  /** Defaults: this process's script, arguments and Node options. */
  readonly script?: string;
  readonly args?: readonly string[];
}

export async function supervise(o: SuperviseOptions): Promise<number> {
  const log = o.log.child({ role: 'supervisor' });
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Asked once here, not by every worker.
  if (o.kind === 'aws' && env.SWITCHYARD_INSTANCE_ID === undefined) {
    const id = await instanceIdFromImds();
    if (id !== undefined) env.SWITCHYARD_INSTANCE_ID = id;
  }
  const script = o.script ?? process.argv[1];
  if (script === undefined) {
    process.stderr.write('switchyard: cannot tell which script to run in the workers\n');
    return 1;
  }
  let sup: Supervisor | undefined;
  // --source aws: the workers' KMS calls go through here, one per distinct ciphertext (secret-relay.ts).
  let kms: ReturnType<typeof createAwsSecretBox> | undefined;
  let decrypts: SharedDecrypts | undefined;
  // cluster.node_id auto: one leased node id per worker slot, and the machine's peer port here.
  let leases: { store: NodeLeaseStore; close: () => void } | undefined;
  let auto: AutoNode | undefined;
  try {
    if (o.kind === 'aws') {
      kms = createAwsSecretBox(env);
      decrypts = new SharedDecrypts(kms.box);
    }
    if (o.settings.cluster?.node_id === 'auto') {
      leases = await openNodeLeases(o.kind, o.stateDir, env);
      auto = await startAutoNode({
        settings: o.settings,
        store: leases.store,
        count: o.count,
        poolerId: env.SWITCHYARD_POOLER_ID || defaultPoolerId(o.settings.listen.port),
        log,
        deliver: (processId, secretKey) => sup?.deliverCancel(processId, secretKey) ?? Promise.resolve(false),
      });
    }
    sup = new Supervisor({
      count: o.count,
      settings: o.settings,
      log,
      script,
      args: o.args ?? process.argv.slice(2),
      env,
      ...(decrypts ? { decrypts } : {}),
      ...(auto ? { nodeIds: auto.ids } : {}),
    });
  } catch (err) {
    await auto?.close();
    leases?.close();
    kms?.close();
    process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    return 1;
  }
  const supervisor = sup;
  // Installed before the workers start, so a signal during the start is not the default (exit
  // without draining): SIGTERM during the start stops what has started.
  let stopping: Promise<number> | undefined;
  const stop = (signal: string): void => {
    if (stopping !== undefined) return;
    log.info({ signal }, 'shutting down');
    stopping = supervisor.stop();
  };
  const onTerm = (): void => stop('SIGTERM');
  const onInt = (): void => stop('SIGINT');
  const onHup = (): void => void supervisor.reload('SIGHUP').catch(() => undefined);
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);
  const removePidFile = o.kind === 'local' ? writePidFile(o.stateDir!) : undefined;
  try {
    await supervisor.start();
  } catch (err) {
    if (stopping === undefined) {
      log.error({ err: (err as Error).message }, 'workers did not start');
      process.stderr.write(`switchyard: ${(err as Error).message}\n`);
    }
    await supervisor.stop();
    removePidFile?.();
    await detach();
    return stopping === undefined ? 1 : 0;
  }
  log.info({ workers: o.count, port: supervisor.port, metricsPort: supervisor.metricsPort }, 'pooler serving with workers');
  // A signal or the console's SHUTDOWN (through a worker) stops it.
  const code = await supervisor.whenStopped();
  removePidFile?.();
  await detach();
  return code;

  /** After the workers drained: the lease and the peer port go last (cancels for draining clients). */
  async function detach(): Promise<void> {
    await auto?.close();
    leases?.close();
    decrypts?.clear();
    kms?.close();
    process.removeListener('SIGTERM', onTerm);
    process.removeListener('SIGINT', onInt);
    process.removeListener('SIGHUP', onHup);
  }
}

/** The store the node ids are leased from: the table (aws) or the state directory (local). */
async function openNodeLeases(kind: SourceKind, stateDir: string | undefined, env: NodeJS.ProcessEnv): Promise<{ store: NodeLeaseStore; close: () => void }> {
  if (kind === 'aws') return createAwsNodeLeaseStore(env);
  if (kind === 'local') return { store: (await createFileStores(stateDir!)).nodes, close: () => undefined };
  throw new Error('cluster.node_id auto needs --source local or aws: the node ids are leased from its store');
}
