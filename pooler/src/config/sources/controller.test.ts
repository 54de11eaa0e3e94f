// The source controller with a scripted source: it reloads when the published version differs
// from the applied one (also when it went down), keeps the running snapshot when the source fails
// or returns invalid content, shares one queued reload among concurrent requests, serves
// pooler.requestReload(), reloads when a rotation grace period ends, and applies a target refresh
// only when the source says the routing moved.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { exampleScramVerifier } from '../../../../shared/src/testing/examples.ts';
import { Pooler } from '../../pooler.ts';
import { configSchema, type PoolerConfig } from '../schema.ts';
import { SourceController } from './controller.ts';
import type { ConfigSource, SourceLoad } from './types.ts';

const log = pino({ level: 'silent' });

function config(ids: string[]): PoolerConfig {
  return configSchema.parse({
    listen: { port: 0 },
    tenants: ids.map((id, i) => ({
      id,
      database: `db${i}`,
      user: `u${i}`,
      verifiers: [exampleScramVerifier()],
      target: { host: '127.0.0.1', port: 1, database: 'd', user: 'u', password: 'p' },
    })),
  });
}

class ScriptedSource implements ConfigSource {
  readonly kind = 'local' as const;
  published = 1;
  next: SourceLoad = { config: config(['ten-one']), version: 1 };
  fail: Error | undefined;
  loads = 0;
  refreshAnswer = false;
  refreshes = 0;
  routed: SourceLoad | undefined;
  async load(): Promise<SourceLoad> {
    this.loads++;
    await new Promise((r) => setTimeout(r, 5));
    if (this.fail) throw this.fail;
    return this.next;
  }
  async publishedVersion(): Promise<number> {
    return this.published;
  }
  async refreshTargets(): Promise<boolean> {
    this.refreshes++;
    return this.refreshAnswer;
  }
  async routing(): Promise<SourceLoad> {
    return this.routed!;
  }
  async close(): Promise<void> {}
}

const controllers: SourceController[] = [];
afterEach(async () => {
  for (const c of controllers.splice(0)) {
    await c.stop();
    await c.pooler.close(0);
  }
});

function setup(): { source: ScriptedSource; controller: SourceController; pooler: Pooler } {
  const source = new ScriptedSource();
  const pooler = new Pooler(source.next.config, { logger: log });
  const controller = new SourceController(pooler, source, source.next, { log, pollMaxMs: 0, heartbeatMs: 0 });
  controller.start();
  controllers.push(controller);
  return { source, controller, pooler };
}

const ids = (p: Pooler): string[] => [...p.snapshot().byId.keys()].sort();

describe('SourceController', () => {
  it('reloads when the published version differs from the applied one, in either direction', async () => {
    const { source, controller, pooler } = setup();
    await controller.poll();
    expect(source.loads).toBe(0);
    source.published = 7;
    source.next = { config: config(['ten-one', 'ten-two']), version: 7 };
    await controller.poll();
    expect(controller.appliedConfigVersion).toBe(7);
    expect(ids(pooler)).toEqual(['ten-one', 'ten-two']);
    // Concurrent bumps may publish 6 after 7 (ports/config-channel.ts): still a change.
    source.published = 6;
    source.next = { config: config(['ten-two']), version: 6 };
    await controller.poll();
    expect(controller.appliedConfigVersion).toBe(6);
    expect(ids(pooler)).toEqual(['ten-two']);
  });

  it('keeps the running snapshot when the source fails or its content is invalid', async () => {
    const { source, controller, pooler } = setup();
    const before = pooler.snapshot();
    source.published = 2;
    source.fail = new Error('store unreachable');
    await controller.poll();
    expect(pooler.snapshot()).toBe(before);
    expect(controller.appliedConfigVersion).toBe(1);
    await expect(pooler.requestReload('admin')).rejects.toThrow('store unreachable');
    // Invalid settings outside the tenants: the whole configuration is refused.
    source.fail = undefined;
    const bad = config(['ten-one']);
    source.next = { config: { ...bad, limits: { ...bad.limits, max_client_conn: 0 } }, version: 2 };
    await expect(controller.reload('test')).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    expect(pooler.snapshot()).toBe(before);
    expect(controller.appliedConfigVersion).toBe(1);
  });

  it('applies a configuration with a conflicting tenant, skipping only that tenant', async () => {
    const { source, controller, pooler } = setup();
    // A new tenant claiming the login of one already served: the incumbent keeps it.
    const dup = config(['ten-one', 'ten-two', 'ten-three']);
    dup.tenants[1] = { ...dup.tenants[1]!, database: dup.tenants[0]!.database, user: dup.tenants[0]!.user };
    source.next = { config: dup, version: 2 };
    await controller.reload('test');
    expect(controller.appliedConfigVersion).toBe(2);
    expect([...pooler.snapshot().byId.keys()].sort()).toEqual(['ten-one', 'ten-three']);
    expect(pooler.skippedTenants()).toEqual([{ id: 'ten-two', reason: 'database "db0" and user "u0" are already used by tenant "ten-one"' }]);
  });

  it('shares one queued reload among requests that arrive while one is running', async () => {
    const { source, controller } = setup();
    const running = controller.reload('first');
    while (source.loads === 0) await new Promise((r) => setTimeout(r, 1));
    const a = controller.reload('second');
    const b = controller.reload('third');
    expect(a).toBe(b);
    await Promise.all([running, a, b]);
    expect(source.loads).toBe(2);
  });

  it('reloads when a rotation grace period ends', async () => {
    const { source, controller } = setup();
    source.next = { ...source.next, staleAt: Date.now() + 100 };
    await controller.reload('test');
    source.next = { ...source.next, staleAt: undefined };
    const loads = source.loads;
    await new Promise((r) => setTimeout(r, 400));
    expect(source.loads).toBe(loads + 1);
  });

  it('applies a target refresh only when the source says the routing moved', async () => {
    const { source, controller, pooler } = setup();
    const before = pooler.snapshot();
    await controller.refresh('ten-one', 'not_writer');
    expect(pooler.snapshot()).toBe(before);
    source.refreshAnswer = true;
    const moved = config(['ten-one']);
    moved.tenants[0] = { ...moved.tenants[0]!, target: { ...moved.tenants[0]!.target, port: 2 } };
    source.routed = { config: moved, version: undefined };
    await controller.refresh('ten-one', 'not_writer');
    expect(pooler.snapshot().byId.get('ten-one')?.target.port).toBe(2);
    // A refresh does not change the applied version.
    expect(controller.appliedConfigVersion).toBe(1);
    expect(source.refreshes).toBe(2);
  });

  it('routes the pooler’s target doubts to the source', async () => {
    const { source, pooler } = setup();
    pooler.targetSuspectHandler?.('ten-one', 'read_only');
    await new Promise((r) => setTimeout(r, 20));
    expect(source.refreshes).toBe(1);
  });
});
