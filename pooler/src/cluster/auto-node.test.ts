// `cluster.node_id: auto` settings: what the schema requires, which address goes into the lease,
// and a clear refusal where there is no store to lease from.
import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.ts';
import { ConfigError } from '../config/snapshot.ts';
import { Pooler } from '../pooler.ts';
import { advertisedHost } from './auto-node.ts';
import { workerConfig } from './worker-config.ts';

const parse = (cluster: unknown, host = '127.0.0.1') => configSchema.parse({ listen: { host, port: 6432 }, log_level: 'silent', cluster });

describe('cluster.node_id auto', () => {
  it('needs the peer port, and takes 0..1023 or auto only', () => {
    expect(() => parse({ node_id: 'auto' })).toThrow(/node_id auto needs peer_port/);
    expect(() => parse({ node_id: 'any' })).toThrow();
    expect(() => parse({ node_id: 1024 })).toThrow();
    expect(parse({ node_id: 'auto', peer_port: 9128 }).cluster).toEqual({ node_id: 'auto', peer_port: 9128, peers: [] });
  });

  it('advertises advertise_host, else a specific listen.host; a wildcard listen.host needs advertise_host', () => {
    expect(advertisedHost(parse({ node_id: 'auto', peer_port: 9128, advertise_host: '10.0.1.23' }, '0.0.0.0'))).toBe('10.0.1.23');
    expect(advertisedHost(parse({ node_id: 'auto', peer_port: 9128 }, '10.0.1.5'))).toBe('10.0.1.5');
    for (const wildcard of ['0.0.0.0', '::']) {
      expect(() => advertisedHost(parse({ node_id: 'auto', peer_port: 9128 }, wildcard))).toThrow(ConfigError);
      expect(() => advertisedHost(parse({ node_id: 'auto', peer_port: 9128 }, wildcard))).toThrow(/cluster\.advertise_host is needed/);
    }
  });

  it('is refused without a leased id (the file source has no store), and a leased id is what the keys carry', async () => {
    const config = parse({ node_id: 'auto', peer_port: 0 });
    expect(() => new Pooler(config)).toThrow(/cluster\.node_id auto leases the node id from the store/);
    const pooler = new Pooler(config, { nodeId: 77 });
    try {
      expect(pooler.nodeId).toBe(77);
    } finally {
      await pooler.close(0);
    }
  });

  it('gives each worker its leased id; the siblings are peers at the relay, the peer port stays the supervisor’s', () => {
    const config = parse({ node_id: 'auto', peer_port: 9128, advertise_host: '10.0.1.23' });
    const plan = { slot: 2, count: 3, listenPort: 6432, relayPort: 40000, nodeIds: [17, 402, 9] };
    expect(workerConfig(config, plan).cluster).toEqual({
      node_id: 402,
      peers: [
        { node_id: 17, host: '127.0.0.1', port: 40000 },
        { node_id: 9, host: '127.0.0.1', port: 40000 },
      ],
    });
    expect(() => workerConfig(config, { ...plan, nodeIds: undefined })).toThrow(/3 leased node ids needed, got 0/);
  });
});
