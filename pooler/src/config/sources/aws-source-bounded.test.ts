// The AWS source's reads are bounded. Every reload of a pooler (SIGHUP, the version poll, a pushed
// change, a worker's `reload` from its supervisor, the console's RELOAD) runs through one queue
// (controller.ts): one SDK call that never ends — a half-open connection to DynamoDB/SSM behind a
// NAT that dropped it, an endpoint that accepts and never answers — would hold that queue, and
// with it every later reload (failover targets included), for good. The SDK's default HTTP
// handler sets no request timeout: against the silent endpoint below, a call waited > 90 s.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../log.ts';
import { createAwsSource } from './aws-source.ts';

let server: Server;
const sockets = new Set<Socket>();
const saved: Record<string, string | undefined> = {};
const ENV = {
  AWS_ENDPOINT_URL: '',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_EC2_METADATA_DISABLED: 'true',
};

beforeAll(async () => {
  // Accepts every connection and never answers.
  server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ENV.AWS_ENDPOINT_URL = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  for (const [k, v] of Object.entries(ENV)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('the AWS config source against an endpoint that never answers', () => {
  it('load() fails within a bound, so the reload queue moves on', async () => {
    const source = createAwsSource({
      log: createLogger('silent'),
      base: () => ({}) as never,
      env: { SWITCHYARD_TABLE: 't', SWITCHYARD_KMS_KEY_ID: 'k', SWITCHYARD_STAGE: 'test' },
    });
    try {
      const outcome = await Promise.race([
        source.load().then(
          () => 'loaded',
          (err: Error) => `failed: ${err.name}`,
        ),
        new Promise<string>((r) => setTimeout(() => r('still waiting'), 75_000).unref()),
      ]);
      expect(outcome).toMatch(/^failed: /);
    } finally {
      await source.close();
    }
  }, 120_000);
});
