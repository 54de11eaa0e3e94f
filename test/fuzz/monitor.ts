// The pooler under test as a child process, watched: it must not exit (a crash), must not log at
// level error or above (pino levels 50/60: an exception caught as "unexpected", or worse), must
// not write to stderr (Node prints an uncaught exception there before dying), and its resident
// memory is sampled from /proc (VmRSS every 250 ms, and VmHWM — the kernel's own peak — at the
// end). After a crash it is started again on the same port so that a long run goes on and counts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toYaml } from '../../shared/src/yaml.ts';
import { spawnPooler, type PoolerChild } from '../helpers/pooler-process.ts';

export interface Crash {
  at: number;
  code: number | null;
  signal: string | null;
  /** The end of the process's output. */
  tail: string;
}

function procStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+)\\s+kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export class PoolerUnderTest {
  readonly port: number;
  readonly file: string;
  readonly crashes: Crash[] = [];
  /** Log lines at level error or fatal, and stderr lines. */
  readonly errorLines: string[] = [];
  rssStartKb = 0;
  rssPeakKb = 0;
  rssSamples = 0;
  private child: PoolerChild | undefined;
  private sampler: NodeJS.Timeout | undefined;
  private stopping = false;
  /** Called as soon as an exit is seen (before the restart). */
  onCrash: ((crash: Crash) => void) | undefined;
  private up: Promise<void> = Promise.resolve();

  private constructor(file: string, port: number) {
    this.file = file;
    this.port = port;
  }

  static async start(config: Record<string, unknown>, dir: string, port: number): Promise<PoolerUnderTest> {
    const file = join(dir, 'fuzz-pooler.yaml');
    writeFileSync(file, toYaml({ ...config, listen: { ...(config.listen as object | undefined), host: '127.0.0.1', port } }), { mode: 0o600 });
    const p = new PoolerUnderTest(file, port);
    await p.spawn();
    p.rssStartKb = procStatusKb(p.pid, 'VmRSS');
    p.sampler = setInterval(() => p.sample(), 250);
    p.sampler.unref();
    return p;
  }

  get pid(): number {
    return this.child?.pid ?? 0;
  }

  private async spawn(): Promise<void> {
    const child = await spawnPooler(['--config', this.file], this.port, { keepOutput: 64 * 1024 });
    this.child = child;
    let out = '';
    child.child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        this.onLogLine(line);
      }
      if (out.length > 1 << 20) out = '';
    });
    child.child.stderr?.on('data', (d: Buffer) => {
      for (const line of d.toString().split('\n')) if (line.trim() !== '') this.keep(`stderr: ${line}`);
    });
    void child.exited.then((exit) => {
      if (this.stopping) return;
      this.sample();
      const crash: Crash = { at: Date.now(), code: exit.code, signal: exit.signal, tail: child.output().slice(-8000) };
      this.crashes.push(crash);
      this.onCrash?.(crash);
      // Start it again so that a long run goes on (and counts further crashes).
      this.up = this.spawn().catch((err: Error) => {
        this.keep(`restart failed: ${err.message}`);
      });
    });
  }

  private onLogLine(line: string): void {
    if (line.trim() === '') return;
    let level = 0;
    try {
      level = Number((JSON.parse(line) as { level?: unknown }).level);
    } catch {
      return this.keep(`stdout: ${line}`);
    }
    if (level >= 50) this.keep(line);
    else if (level >= 40) {
      this.warnings++;
      if (this.watch !== undefined && line.includes(this.watch) && this.watched.length < 200) this.watched.push(line);
    }
  }

  /** Warning lines logged (level 40). */
  warnings = 0;
  /** Warning lines that mention `watch` (the canary's tenant), for the report. */
  readonly watched: string[] = [];
  watch: string | undefined;

  private keep(line: string): void {
    if (this.errorLines.length < 1000) this.errorLines.push(line.length > 4000 ? `${line.slice(0, 4000)}…` : line);
  }

  private sample(): void {
    const pid = this.pid;
    if (pid === 0) return;
    const kb = Math.max(procStatusKb(pid, 'VmRSS'), procStatusKb(pid, 'VmHWM'));
    if (kb > this.rssPeakKb) this.rssPeakKb = kb;
    this.rssSamples++;
  }

  /** Resolves once the pooler accepts connections (after a restart that follows a crash). */
  whenUp(): Promise<void> {
    return this.up;
  }

  get alive(): boolean {
    const c = this.child?.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  async stop(): Promise<void> {
    this.sample();
    this.stopping = true;
    clearInterval(this.sampler);
    await this.child?.stop();
  }
}
