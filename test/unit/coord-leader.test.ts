import { describe, expect, it } from 'vitest';
import { LeaderElector, type LeaderEvent, leaderTimings } from '../../src/coord/leader.js';
import { type MemoryCoordClient, MemoryCoordCluster } from '../../src/coord/memory.js';
import type { CoordPort, TxnRequest, TxnResult } from '../../src/coord/types.js';
import { FakeClock, type TimerHandle } from '../../src/util/clock.js';
import { SwitchyardError } from '../../src/util/errors.js';

/** Leader rules on the in-memory twin under a fake clock: exact instants, no real waiting. */

const TTL = 3_000; // keep-alive every 1 s, margin 600 ms
const PREFIX = '/sy/';

interface Node {
  id: string;
  port: MemoryCoordClient;
  elector: LeaderElector;
  events: (LeaderEvent & { clock: number })[];
}

function world(clock = new FakeClock()) {
  const cluster = new MemoryCoordCluster({ clock });
  const nodes: Node[] = [];
  const add = (
    id: string,
    region: string,
    port: CoordPort & Partial<MemoryCoordClient> = cluster.connect({ callTimeoutMs: 400, name: id }),
  ) => {
    const elector = new LeaderElector({ coord: port, clock, prefix: PREFIX, id, region, ttlMs: TTL });
    const node: Node = { id, port: port as MemoryCoordClient, elector, events: [] };
    elector.on((e) => node.events.push({ ...e, clock: clock.monotonic() }));
    nodes.push(node);
    return node;
  };
  /** Advances fake time in small steps so that promise chains settle between timers. */
  const run = async (ms: number, step = 25) => {
    for (let t = 0; t < ms; t += step) await clock.advanceAsync(Math.min(step, ms - t));
  };
  const leaders = () => nodes.filter((n) => n.elector.isLeader()).map((n) => n.id);
  return { clock, cluster, nodes, add, run, leaders };
}

const acquired = (n: Node) => n.events.filter((e) => e.type === 'acquired');
const lost = (n: Node) =>
  n.events.filter((e): e is Extract<LeaderEvent, { type: 'lost' }> & { clock: number } => e.type === 'lost');

describe('leader timings', () => {
  it('keeps alive every TTL/3 and steps down a margin before the TTL', () => {
    expect(leaderTimings(10_000)).toEqual({ keepAliveEveryMs: 10_000 / 3, marginMs: 2_000 });
    expect(leaderTimings(2_000)).toEqual({ keepAliveEveryMs: 2_000 / 3, marginMs: 500 });
    expect(() => leaderTimings(3_000, 2_500)).toThrow(/margin/);
  });
});

describe('leader loop on the in-memory twin', () => {
  it('two electors: exactly one leads, the other sees who', async () => {
    const w = world();
    const a = w.add('a', 'r1');
    const b = w.add('b', 'r2');
    a.elector.start();
    b.elector.start();
    for (let i = 0; i < 40; i++) {
      await w.run(250);
      expect(w.leaders().length).toBeLessThanOrEqual(1);
    }
    expect(w.leaders()).toHaveLength(1);
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    expect(follower.elector.currentLeader()).toMatchObject({ id: leader.id, self: false });
    expect(leader.elector.currentLeader()).toMatchObject({ id: leader.id, self: true });
    const token = leader.elector.fencingToken();
    expect(token).toEqual({ leaderKey: '/sy/leader', lease: expect.any(String) });
    expect(w.cluster.dump('/sy/leader')[0]?.lease).toBe(token?.lease);
    expect(follower.elector.fencingToken()).toBeNull();
    expect(JSON.parse(w.cluster.dump('/sy/leader')[0]?.value ?? '{}')).toMatchObject({
      id: leader.id,
      region: leader.id === 'a' ? 'r1' : 'r2',
      lease: token?.lease,
    });
    await a.elector.stop();
    await b.elector.stop();
  });

  it('cut off from etcd, the leader steps down at last keep-alive sent + TTL − margin, before anyone else can lead', async () => {
    const w = world();
    const a = w.add('a', 'r1');
    a.elector.start();
    await w.run(100);
    expect(a.elector.isLeader()).toBe(true);
    const b = w.add('b', 'r2');
    b.elector.start();
    await w.run(1_500);
    // Keep-alives went at t≈0 (grant) and t≈1000; the next would be at t≈2000.
    a.port.setUnavailable('timeout');
    const cutAt = w.clock.monotonic();
    const lastSent = 1_000;
    const deadline = lastSent + TTL - 600;
    await w.run(deadline - cutAt - 25, 25);
    expect(a.elector.isLeader()).toBe(true);
    await w.run(25, 25);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.elector.fencingToken()).toBeNull();
    expect(lost(a)).toHaveLength(1);
    expect(lost(a)[0]?.at).toBe(deadline);
    expect(lost(a)[0]?.reason).toMatch(/keep-alive/);
    // The key outlives the step-down: etcd's copy of the lease runs to lastSent + TTL.
    expect(b.elector.isLeader()).toBe(false);
    await w.run(lastSent + TTL - w.clock.monotonic() + 500);
    expect(b.elector.isLeader()).toBe(true);
    const bAcquired = acquired(b)[0]?.at ?? Number.NaN;
    expect(lost(a)[0]?.at).toBeLessThan(bAcquired);
    expect(bAcquired).toBeGreaterThanOrEqual(lastSent + TTL);
    expect(bAcquired - cutAt).toBeLessThanOrEqual(TTL + 1_000);
    // While cut off, A never claims again; back on the network it follows B.
    await w.run(5_000);
    expect(acquired(a)).toHaveLength(1);
    a.port.setUnavailable(null);
    await w.run(3_000);
    expect(w.leaders()).toEqual(['b']);
    expect(a.elector.currentLeader()).toMatchObject({ id: 'b' });
  });

  it('counts from when the keep-alive was SENT: slow answers never let it lead past the lease in the store', async () => {
    // With answers slower than the margin, counting from their arrival would overrun the lease.
    for (const responseMs of [0, 300, 700, 900, 1_500])
      for (const cutAfter of [1_700, 2_300, 2_900, 3_550]) {
        const clock = new FakeClock();
        const cluster = new MemoryCoordCluster({ clock });
        const port = cluster.connect({ callTimeoutMs: 2_000 });
        port.setLatency(0, responseMs);
        const elector = new LeaderElector({
          coord: port,
          clock,
          prefix: PREFIX,
          id: 'a',
          region: 'r1',
          ttlMs: TTL,
        });
        elector.start();
        let led = false;
        for (let t = 0; t < cutAfter + 5_000; t += 10) {
          if (t === cutAfter) port.setUnavailable('timeout');
          await clock.advanceAsync(10);
          if (!elector.isLeader()) continue;
          led = true;
          const lease = elector.fencingToken()?.lease;
          const inStore = cluster.leases().find((l) => l.id === lease);
          expect(inStore, `latency ${responseMs}, cut at ${cutAfter}, t ${clock.monotonic()}`).toBeDefined();
          expect(cluster.dump('/sy/leader')[0]?.lease).toBe(lease);
        }
        if (responseMs <= 300) expect(led).toBe(true);
        const stopped = elector.stop();
        port.setUnavailable(null);
        await clock.advanceAsync(5_000);
        await stopped;
      }
  });

  it('isLeader() is false at the deadline even when the step-down timer fires late (a blocked event loop)', async () => {
    class LateTimers extends FakeClock {
      override setTimeout(fn: () => void, ms: number): TimerHandle {
        return super.setTimeout(fn, ms + 5_000);
      }
    }
    const clock = new LateTimers();
    const cluster = new MemoryCoordCluster({ clock });
    const port = cluster.connect({ callTimeoutMs: 400 });
    const elector = new LeaderElector({
      coord: port,
      clock,
      prefix: PREFIX,
      id: 'a',
      region: 'r1',
      ttlMs: TTL,
    });
    const events: LeaderEvent[] = [];
    elector.on((e) => events.push(e));
    elector.start();
    await clock.advanceAsync(0);
    expect(elector.isLeader()).toBe(true);
    // Nothing renews the lease now (every timer is 5 s late): at 2400 ms it must be over.
    await clock.advanceAsync(TTL - 600 - 1);
    expect(elector.isLeader()).toBe(true);
    await clock.advanceAsync(1);
    expect(events.filter((e) => e.type === 'lost')).toHaveLength(0);
    expect(elector.isLeader()).toBe(false);
    expect(events.filter((e) => e.type === 'lost')).toEqual([
      {
        type: 'lost',
        at: TTL - 600,
        deadline: TTL - 600,
        lease: expect.any(String),
        reason: expect.stringMatching(/checked late/),
      },
    ]);
    await elector.stop();
  });

  it('never claims leadership while etcd is unreachable, and leads once it answers', async () => {
    const w = world();
    w.cluster.setUnavailable('timeout');
    const a = w.add('a', 'r1');
    const b = w.add('b', 'r2');
    a.elector.start();
    b.elector.start();
    await w.run(20_000, 100);
    expect(w.leaders()).toEqual([]);
    expect(acquired(a).length + acquired(b).length).toBe(0);
    w.cluster.setUnavailable(null);
    await w.run(2_000);
    expect(w.leaders()).toHaveLength(1);
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  it('etcd losing quorum: the leader steps down in time; quorum back: one leader again', async () => {
    const w = world();
    const a = w.add('a', 'r1');
    const b = w.add('b', 'r2');
    a.elector.start();
    b.elector.start();
    await w.run(2_000);
    expect(w.leaders()).toHaveLength(1);
    const leader = a.elector.isLeader() ? a : b;
    w.cluster.setUnavailable('timeout');
    const t0 = w.clock.monotonic();
    await w.run(TTL - 600 + 50);
    expect(w.leaders()).toEqual([]);
    expect((lost(leader)[0]?.at ?? Number.POSITIVE_INFINITY) - t0).toBeLessThanOrEqual(TTL - 600);
    w.cluster.setUnavailable(null);
    await w.run(TTL + 2_000);
    expect(w.leaders()).toHaveLength(1);
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });

  it('a lease that expires in etcd (or a deleted key) ends leadership at once; it leads again on a fresh lease', async () => {
    const w = world();
    const a = w.add('a', 'r1');
    a.elector.start();
    await w.run(100);
    const first = a.elector.fencingToken();
    expect(first).not.toBeNull();
    w.cluster.expireLease(first?.lease ?? '');
    await w.clock.advanceAsync(0);
    // The watch saw the key go: leadership ended at once, and (alone) it won again on a fresh lease.
    expect(lost(a)).toHaveLength(1);
    expect(lost(a)[0]?.reason).toMatch(/deleted/);
    const order = a.events.filter((e) => e.type !== 'leader').map((e) => e.type);
    expect(order).toEqual(['acquired', 'lost', 'acquired']);
    const second = a.elector.fencingToken();
    expect(second?.lease).toBeDefined();
    expect(second?.lease).not.toBe(first?.lease);
    // An operator deleting the key by hand.
    await a.port.txn({ compare: [], success: [{ type: 'delete', key: '/sy/leader' }] });
    await w.clock.advanceAsync(0);
    expect(lost(a)).toHaveLength(2);
    await a.elector.stop();
  });

  it('stop() revokes the lease: the other instance takes over at once, not after the TTL', async () => {
    const w = world();
    const a = w.add('a', 'r1');
    a.elector.start();
    await w.run(100);
    const b = w.add('b', 'r2');
    b.elector.start();
    await w.run(500);
    expect(w.leaders()).toEqual(['a']);
    const t0 = w.clock.monotonic();
    await a.elector.stop();
    expect(a.elector.isLeader()).toBe(false);
    await w.run(100, 5);
    expect(b.elector.isLeader()).toBe(true);
    expect((acquired(b)[0]?.at ?? Number.NaN) - t0).toBeLessThan(100);
    expect(lost(a)[0]?.reason).toBe('stopped');
    await b.elector.stop();
    expect(w.cluster.leases()).toEqual([]);
  });

  it('resign(): steps down, frees the key for the other, and stays out for the hold-off', async () => {
    const w = world();
    const a = w.add('a', 'r1');
    a.elector.start();
    await w.run(100);
    const b = w.add('b', 'r2');
    b.elector.start();
    await w.run(500);
    await a.elector.resign(10_000);
    expect(a.elector.isLeader()).toBe(false);
    await w.run(100, 5);
    expect(w.leaders()).toEqual(['b']);
    await b.elector.stop();
    await w.run(5_000);
    expect(a.elector.isLeader()).toBe(false);
    await w.run(6_000);
    expect(a.elector.isLeader()).toBe(true);
    await a.elector.stop();
  });

  it('gives the key back when the claim is confirmed after the lease could have expired', async () => {
    const w = world();
    const port = w.cluster.connect({ callTimeoutMs: 20_000 });
    // TTL 10 s → margin 2 s: a grant sent at 0 is valid here until 8 s; every answer takes 4.5 s.
    port.setLatency(0, 4_500);
    const elector = new LeaderElector({
      coord: port,
      clock: w.clock,
      prefix: PREFIX,
      id: 'slow',
      region: 'r1',
      ttlMs: 10_000,
    });
    const events: LeaderEvent[] = [];
    elector.on((e) => events.push(e));
    elector.start();
    await w.run(9_500, 50);
    expect(events.some((e) => e.type === 'acquired')).toBe(false);
    expect(elector.isLeader()).toBe(false);
    // The claim landed in etcd at 4.5 s and was answered at 9 s: the revoke removes the key.
    await w.run(5_000, 50);
    expect(elector.isLeader()).toBe(false);
    expect(events.some((e) => e.type === 'acquired')).toBe(false);
    const stopped = elector.stop();
    await w.run(15_000, 100);
    await stopped;
    expect(events.some((e) => e.type === 'acquired')).toBe(false);
    // Every late claim was given back: no leader key is left behind.
    expect(w.cluster.dump('/sy/leader')).toEqual([]);
  });

  it('recognises its own claim when the answer to the campaign was lost', async () => {
    const w = world();
    const inner = w.cluster.connect({ callTimeoutMs: 400 });
    let dropped = 0;
    const lossy: CoordPort = Object.assign(Object.create(inner) as MemoryCoordClient, {
      async txn(req: TxnRequest): Promise<TxnResult> {
        const r = await inner.txn(req);
        if (dropped++ === 0) throw new SwitchyardError('COORD_UNAVAILABLE', 'answer lost');
        return r;
      },
    });
    const elector = new LeaderElector({
      coord: lossy,
      clock: w.clock,
      prefix: PREFIX,
      id: 'a',
      region: 'r1',
      ttlMs: TTL,
    });
    elector.start();
    await w.run(100);
    // The claim was applied but its answer lost: not leader yet.
    expect(elector.isLeader()).toBe(false);
    const kv = w.cluster.dump('/sy/leader')[0];
    await w.run(1_000);
    expect(elector.isLeader()).toBe(true);
    expect(elector.fencingToken()?.lease).toBe(kv?.lease);
    await elector.stop();
  });

  it('reports the lease time left, falling between keep-alives', async () => {
    const w = world();
    const a = w.add('a', 'r1');
    expect(a.elector.leaseTimeLeftMs()).toBeNull();
    a.elector.start();
    await w.run(100);
    expect(a.elector.leaseTimeLeftMs()).toBe(TTL - 600 - 100);
    await w.run(1_000);
    // Renewed at 1000: valid until 1000 + 3000 − 600.
    expect(a.elector.leaseTimeLeftMs()).toBe(1_000 + TTL - 600 - 1_100);
    expect(a.elector.timings()).toMatchObject({ ttlMs: TTL, marginMs: 600, keepAliveEveryMs: 1_000 });
    await a.elector.stop();
  });
});
