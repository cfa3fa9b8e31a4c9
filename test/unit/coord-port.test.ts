import { describe, expect, it } from 'vitest';
import { type MemoryCoordClient, MemoryCoordCluster } from '../../src/coord/memory.js';
import type { WatchEvent } from '../../src/coord/types.js';
import { FakeClock } from '../../src/util/clock.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { type ContractEnv, portContract } from '../support/coord-contract.js';

const CALL_TIMEOUT = 500;

function memoryEnv(): Omit<ContractEnv, 'client'> & {
  clock: FakeClock;
  cluster: MemoryCoordCluster;
  client(): MemoryCoordClient;
} {
  const clock = new FakeClock();
  const cluster = new MemoryCoordCluster({ clock });
  return {
    clock,
    cluster,
    client: () => cluster.connect({ callTimeoutMs: CALL_TIMEOUT }),
    linked: async () => {
      const port = cluster.connect({ callTimeoutMs: CALL_TIMEOUT, name: 'linked' });
      return {
        port,
        cut: () => port.setUnavailable('refuse'),
        stall: () => port.setUnavailable('timeout'),
        restore: () => port.setUnavailable(null),
      };
    },
    wait: (ms) => clock.advanceAsync(ms),
    now: () => clock.monotonic(),
    compact: async (rev) => cluster.compact(rev),
    callTimeoutMs: CALL_TIMEOUT,
    slackMs: 0,
  };
}

describe('coordination port contract: in-memory twin', () => {
  portContract(memoryEnv);
});

describe('in-memory twin: fault hooks', () => {
  const put = (key: string, value: string) => ({
    compare: [],
    success: [{ type: 'put' as const, key, value }],
  });

  it('applies a request after its latency and answers later: a call can time out after it was applied', async () => {
    const env = memoryEnv();
    const port = env.cluster.connect({ callTimeoutMs: 300 });
    port.setLatency(200, 200);
    let error: unknown;
    const p = port.txn(put('/k', 'v')).catch((e: unknown) => {
      error = e;
    });
    await env.clock.advanceAsync(199);
    expect(env.cluster.dump()).toEqual([]);
    await env.clock.advanceAsync(1);
    expect(env.cluster.dump().map((kv) => kv.value)).toEqual(['v']);
    await env.clock.advanceAsync(100);
    await p;
    expect(isSwitchyardError(error, 'COORD_UNAVAILABLE')).toBe(true);
  });

  it('a cluster-wide outage (lost quorum) stalls every client; refusing fails them at once', async () => {
    const env = memoryEnv();
    const a = env.client();
    const b = env.client();
    env.cluster.setUnavailable('timeout');
    let settled = 0;
    const calls = [a.get('/x'), b.get('/x')].map((p) =>
      p.catch((e: unknown) => {
        settled++;
        return e;
      }),
    );
    await env.clock.advanceAsync(CALL_TIMEOUT - 1);
    expect(settled).toBe(0);
    await env.clock.advanceAsync(1);
    for (const e of await Promise.all(calls)) expect(isSwitchyardError(e, 'COORD_UNAVAILABLE')).toBe(true);
    env.cluster.setUnavailable('refuse');
    const refused = await a.get('/x').catch((e: unknown) => e);
    expect(env.clock.monotonic()).toBe(CALL_TIMEOUT);
    expect(isSwitchyardError(refused, 'COORD_UNAVAILABLE')).toBe(true);
    env.cluster.setUnavailable(null);
    expect((await a.get('/x')).kv).toBeNull();
  });

  it('a stalled watch holds its events, delivers them on restore, and breaks one call timeout after the stall', async () => {
    const env = memoryEnv();
    const writer = env.client();
    const reader = env.client();
    const seen: WatchEvent[] = [];
    reader.watchPrefix('/w/', 0, (e) => seen.push(e));
    reader.setUnavailable('timeout');
    await writer.txn(put('/w/a', '1'));
    await env.clock.advanceAsync(CALL_TIMEOUT / 2);
    expect(seen).toEqual([]);
    reader.setUnavailable(null);
    await env.clock.advanceAsync(0);
    expect(seen.map((e) => e.type)).toEqual(['put']);
    reader.setUnavailable('timeout');
    await writer.txn(put('/w/b', '2'));
    await env.clock.advanceAsync(CALL_TIMEOUT);
    expect(seen.map((e) => e.type)).toEqual(['put', 'broken']);
    reader.setUnavailable(null);
    await writer.txn(put('/w/c', '3'));
    await env.clock.advanceAsync(10);
    expect(seen).toHaveLength(2);
  });

  it('delays watch delivery per client, keeping revision order', async () => {
    const env = memoryEnv();
    const writer = env.client();
    const slow = env.client();
    const seen: [number, string][] = [];
    slow.setWatchDelay(100);
    slow.watchPrefix('/d/', 0, (e) =>
      seen.push([env.clock.monotonic(), e.type === 'put' ? e.value : e.type]),
    );
    await writer.txn(put('/d/a', '1'));
    slow.setWatchDelay(0);
    await writer.txn(put('/d/b', '2'));
    await env.clock.advanceAsync(99);
    expect(seen).toEqual([]);
    await env.clock.advanceAsync(1);
    expect(seen).toEqual([
      [100, '1'],
      [100, '2'],
    ]);
  });

  it('expires a lease on demand and breaks watches on demand', async () => {
    const env = memoryEnv();
    const port = env.client();
    const lease = await port.grantLease(10_000);
    await port.txn({ compare: [], success: [{ type: 'put', key: '/l/k', value: 'v', lease: lease.id }] });
    const seen: WatchEvent[] = [];
    port.watchPrefix('/l/', 0, (e) => seen.push(e));
    expect(env.cluster.leases().map((l) => l.keys)).toEqual([['/l/k']]);
    expect(env.cluster.expireLease(lease.id)).toBe(true);
    expect(env.cluster.expireLease(lease.id)).toBe(false);
    await env.clock.advanceAsync(0);
    expect(seen.map((e) => e.type)).toEqual(['delete']);
    env.cluster.breakWatches('test');
    await env.clock.advanceAsync(0);
    expect(seen.map((e) => e.type)).toEqual(['delete', 'broken']);
  });

  it('expires leases on the injected clock only, at grant + TTL (whole seconds, server minimum)', async () => {
    const clock = new FakeClock();
    const cluster = new MemoryCoordCluster({ clock, minLeaseTtlSeconds: 2 });
    const port = cluster.connect();
    const lease = await port.grantLease(1);
    expect(lease.ttlMs).toBe(2_000);
    await clock.advanceAsync(1_999);
    expect(await port.keepAliveOnce(lease.id)).toEqual({ ttlMs: 2_000 });
    await clock.advanceAsync(1_999);
    expect(cluster.leases()).toHaveLength(1);
    await clock.advanceAsync(1);
    expect(cluster.leases()).toHaveLength(0);
    expect(await port.keepAliveOnce(lease.id)).toBeNull();
  });

  it('refuses a transaction that writes one key twice, as etcd does', async () => {
    const env = memoryEnv();
    const e = await env
      .client()
      .txn({
        compare: [],
        success: [
          { type: 'put', key: '/k', value: '1' },
          { type: 'delete', key: '/k' },
        ],
      })
      .catch((x: unknown) => x);
    expect(isSwitchyardError(e, 'COORD_REJECTED')).toBe(true);
  });
});
