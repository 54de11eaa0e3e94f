// A steady write load through the pooler, for the demo: per tenant a few clients, each with one
// connection, inserting (client, seq) and reading back the port of the server that ran it
// (inet_server_port()), with a short pause between statements. Every acknowledgement, error and
// lost connection is recorded with its time; a client whose connection is lost reconnects.
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export interface LoadTarget {
  tenant: string;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
}

export interface Ack {
  tenant: string;
  client: number;
  seq: number;
  sentAt: number;
  at: number;
  /** The PostgreSQL server that executed the insert. */
  serverPort: number;
}

export interface LoadError {
  tenant: string;
  client: number;
  seq: number;
  sentAt: number;
  at: number;
  code: string | undefined;
  message: string;
}

export interface Disconnect {
  tenant: string;
  client: number;
  at: number;
}

export const DEMO_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS demo_writes (client int NOT NULL, seq int NOT NULL, server_port int NOT NULL DEFAULT inet_server_port(), at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (client, seq))';

function connection(t: LoadTarget, name: string): pg.Client {
  return new pg.Client({ host: t.host, port: t.port, database: t.database, user: t.user, password: t.password, application_name: name, connectionTimeoutMillis: 10_000 });
}

export class WriteLoad {
  readonly acks: Ack[] = [];
  readonly errors: LoadError[] = [];
  readonly disconnects: Disconnect[] = [];
  #stopped = false;
  #loops: Promise<void>[] = [];
  readonly #pauseMs: number;

  private constructor(pauseMs: number) {
    this.#pauseMs = pauseMs;
  }

  /** Creates the table (through the pooler) for each target, then starts `perTarget` clients each. */
  static async start(targets: LoadTarget[], perTarget: number, pauseMs = 10): Promise<WriteLoad> {
    for (const t of targets) {
      const c = connection(t, 'switchyard-demo-setup');
      await c.connect();
      try {
        await c.query(DEMO_TABLE_SQL);
      } finally {
        await c.end();
      }
    }
    const load = new WriteLoad(pauseMs);
    load.#loops = targets.flatMap((t) => Array.from({ length: perTarget }, (_, i) => load.#run(t, i)));
    return load;
  }

  async #run(t: LoadTarget, client: number): Promise<void> {
    let seq = 0;
    let c: pg.Client | undefined;
    let dead = false;
    while (!this.#stopped) {
      if (c === undefined) {
        const fresh = connection(t, `switchyard-demo-${client}`);
        dead = false;
        fresh.on('error', () => (dead = true));
        fresh.on('end', () => (dead = true));
        try {
          await fresh.connect();
          c = fresh;
        } catch (err) {
          this.errors.push({ tenant: t.tenant, client, seq: -1, sentAt: Date.now(), at: Date.now(), code: (err as { code?: string }).code, message: `connect: ${(err as Error).message}` });
          await sleep(100);
          continue;
        }
      }
      const s = seq++;
      const sentAt = Date.now();
      try {
        const r = await c.query<{ port: number }>('INSERT INTO demo_writes (client, seq) VALUES ($1, $2) RETURNING server_port AS port', [client, s]);
        this.acks.push({ tenant: t.tenant, client, seq: s, sentAt, at: Date.now(), serverPort: Number(r.rows[0]?.port) });
      } catch (err) {
        this.errors.push({ tenant: t.tenant, client, seq: s, sentAt, at: Date.now(), code: (err as { code?: string }).code, message: (err as Error).message });
        await sleep(0);
        if (dead || /terminat|Connection/i.test((err as Error).message)) {
          this.disconnects.push({ tenant: t.tenant, client, at: Date.now() });
          await c.end().catch(() => undefined);
          c = undefined;
        }
      }
      await sleep(this.#pauseMs);
    }
    await c?.end().catch(() => undefined);
  }

  get clients(): number {
    return this.#loops.length;
  }

  /** Every client (tenant, n) has an ack from `serverPort` sent after `after`. */
  everyClientWroteOn(serverPort: number, after: number): boolean {
    const seen = new Set(this.acks.filter((a) => a.serverPort === serverPort && a.sentAt >= after).map((a) => `${a.tenant}/${a.client}`));
    return seen.size >= this.#loops.length;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#loops);
  }
}
