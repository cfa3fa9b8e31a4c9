import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCoord } from '../../src/coord/etcd.js';
import { LeaderElector, type LeaderEvent } from '../../src/coord/leader.js';
import type { CoordPort } from '../../src/coord/types.js';
import { EtcdStateStore } from '../../src/state/etcd-store.js';
import { systemClock } from '../../src/util/clock.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { EtcdCluster } from '../support/etcd-cluster.js';
import { sleep } from '../support/proc.js';
import { stateOf } from '../support/state-store-contract.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * The leader rules against a real three-member etcd 3.4: one leader among two electors; a
 * leader cut off from etcd (through a TCP proxy the test cuts or stalls) steps down on its own
 * clock before the other can acquire, and the other takes over within TTL + 1 s; the deposed
 * leader's fenced state save is refused; etcd losing quorum → nobody leads; quorum back → one.
 * Both electors run in this process, so their monotonic timestamps share one clock.
 */

const TTL = 3_000; // keep-alive every 1 s, step down 600 ms before the TTL
const CALL_TIMEOUT = 700;

let cluster: EtcdCluster;
const proxies: TcpProxy[] = [];
let live: { elector: LeaderElector; port: CoordPort }[] = [];
let seq = 0;

beforeAll(async () => {
  cluster = await EtcdCluster.start();
});

afterEach(async () => {
  await Promise.all(live.map((n) => n.elector.stop().catch(() => {})));
  await Promise.all(live.map((n) => n.port.close().catch(() => {})));
  live = [];
}, 20_000);

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  await cluster?.stop();
}, 30_000);

interface Node {
  id: string;
  elector: LeaderElector;
  port: CoordPort;
  events: LeaderEvent[];
}

function node(id: string, region: string, prefix: string, endpoints: string[], ttlMs = TTL): Node {
  const port = new EtcdCoord({ endpoints, callTimeoutMs: CALL_TIMEOUT });
  const elector = new LeaderElector({ coord: port, clock: systemClock, prefix, id, region, ttlMs });
  const events: LeaderEvent[] = [];
  elector.on((e) => events.push(e));
  live.push({ elector, port });
  return { id, elector, port, events };
}

async function proxied(member = 0): Promise<TcpProxy> {
  const m = cluster.members[member];
  if (!m) throw new Error('no such member');
  const proxy = new TcpProxy(m.clientPort);
  await proxy.start();
  proxies.push(proxy);
  return proxy;
}

/** Samples isLeader() of every node every 10 ms; records any instant with two leaders. */
function watchLeaders(nodes: Node[]) {
  const doubles: string[] = [];
  const timer = setInterval(() => {
    const leading = nodes.filter((n) => n.elector.isLeader()).map((n) => n.id);
    if (leading.length > 1) doubles.push(`${performance.now().toFixed(0)}: ${leading.join(', ')}`);
  }, 10);
  return {
    doubles,
    stop: () => clearInterval(timer),
  };
}

async function until(what: string, cond: () => boolean, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

const firstOf = <T extends LeaderEvent['type']>(n: Node, type: T) =>
  n.events.find((e): e is Extract<LeaderEvent, { type: T }> => e.type === type);

describe('leader loop on etcd 3.4, three members', () => {
  it('two electors: exactly one leads, the other sees it', async () => {
    const prefix = `/leader/${++seq}/`;
    const a = node('a', 'r1', prefix, cluster.endpoints());
    const b = node('b', 'r2', prefix, cluster.endpoints());
    const sampler = watchLeaders([a, b]);
    a.elector.start();
    b.elector.start();
    await until('a leader', () => a.elector.isLeader() || b.elector.isLeader(), 5_000);
    await sleep(2 * TTL);
    sampler.stop();
    expect(sampler.doubles).toEqual([]);
    const [leader, follower] = a.elector.isLeader() ? [a, b] : [b, a];
    expect(follower.elector.isLeader()).toBe(false);
    expect(follower.elector.currentLeader()).toMatchObject({ id: leader.id, self: false });
    expect(leader.events.filter((e) => e.type === 'lost')).toEqual([]);
    const kv = (await leader.port.get(`${prefix}leader`)).kv;
    expect(kv?.lease).toBe(leader.elector.fencingToken()?.lease);
    // stop() revokes: the follower takes over at once, long before the TTL.
    const t0 = performance.now();
    await leader.elector.stop();
    await until('takeover after stop', () => follower.elector.isLeader(), TTL);
    expect(performance.now() - t0).toBeLessThan(TTL / 2);
  });

  for (const fault of ['cut', 'stall'] as const) {
    it(`a leader ${fault === 'cut' ? 'cut off from' : 'black-holed away from'} etcd steps down before the other acquires; the other leads within TTL + 1 s; its fenced save is refused`, async () => {
      const prefix = `/leader/${++seq}/`;
      const proxy = await proxied(0);
      const a = node('a', 'r1', prefix, [proxy.url]);
      const b = node('b', 'r2', prefix, cluster.endpoints());
      a.elector.start();
      await until('a to lead', () => a.elector.isLeader(), 5_000);
      b.elector.start();
      await until('b to see a', () => b.elector.currentLeader()?.id === 'a', 5_000);
      const token = a.elector.fencingToken();
      expect(token).not.toBeNull();
      const deposedStore = new EtcdStateStore({ coord: a.port, prefix });
      await deposedStore.load();
      await deposedStore.save(stateOf(1), token ? { fence: token } : {});
      await sleep(1_500);
      const sampler = watchLeaders([a, b]);
      const faultAt = performance.now();
      if (fault === 'cut') proxy.cut();
      else proxy.stall();

      await until('b to take over', () => b.elector.isLeader(), TTL + 2_000);
      sampler.stop();
      const lostAt = firstOf(a, 'lost')?.at ?? Number.NaN;
      const acquiredAt = firstOf(b, 'acquired')?.at ?? Number.NaN;
      expect(sampler.doubles).toEqual([]);
      expect(firstOf(a, 'lost')?.reason).toMatch(/keep-alive/);
      // Not-leader before the other can acquire, on the one monotonic clock of this process.
      expect(lostAt).toBeLessThan(acquiredAt);
      // Due at most TTL − margin after the fault (the last renewal was sent before it), and on time.
      const lost = firstOf(a, 'lost');
      expect((lost?.deadline ?? Number.NaN) - faultAt).toBeLessThanOrEqual(TTL - 600);
      expect(lostAt - (lost?.deadline ?? Number.NaN)).toBeLessThanOrEqual(500);
      expect(acquiredAt - faultAt).toBeLessThanOrEqual(TTL + 1_000);
      expect(a.elector.isLeader()).toBe(false);
      expect(a.elector.fencingToken()).toBeNull();

      // Back on the network, the deposed leader's write with its old token is refused...
      proxy.restore();
      let refused: unknown;
      for (let i = 0; i < 50; i++) {
        refused = await deposedStore.save(stateOf(2, 'r9'), token ? { fence: token } : {}).then(
          () => 'saved',
          (e: unknown) => e,
        );
        if (!isSwitchyardError(refused, 'COORD_UNAVAILABLE')) break;
        await sleep(100);
      }
      expect(isSwitchyardError(refused, 'STATE_FENCED'), String(refused)).toBe(true);
      // ...while the new leader's succeeds, and the old one follows it.
      const leaderStore = new EtcdStateStore({ coord: b.port, prefix });
      expect((await leaderStore.load())?.engine.epoch).toBe(1);
      const bToken = b.elector.fencingToken();
      await leaderStore.save(stateOf(2, 'r2'), bToken ? { fence: bToken } : {});
      await until('a to see b', () => a.elector.currentLeader()?.id === 'b', 5_000);
      expect(a.elector.isLeader()).toBe(false);
      expect(b.elector.isLeader()).toBe(true);
    });
  }

  it('one etcd member down at a time (each in turn): the leader keeps leading, no step-down', async () => {
    const prefix = `/leader/${++seq}/`;
    const a = node('a', 'r1', prefix, cluster.endpoints(), 6_000);
    a.elector.start();
    await until('a to lead', () => a.elector.isLeader(), 5_000);
    for (let i = 0; i < cluster.members.length; i++) {
      await cluster.killMember(i);
      try {
        await sleep(6_000);
        expect(a.elector.isLeader(), `member m${i} down`).toBe(true);
      } finally {
        await cluster.startMember(i);
      }
      await cluster.waitHealthy();
    }
    expect(a.events.filter((e) => e.type === 'lost')).toEqual([]);
  }, 60_000);

  it('etcd losing quorum: calls fail, the leader steps down in time, nobody leads; quorum back: one leader', async () => {
    const prefix = `/leader/${++seq}/`;
    const a = node('a', 'r1', prefix, cluster.endpoints());
    const b = node('b', 'r2', prefix, cluster.endpoints());
    a.elector.start();
    b.elector.start();
    await until('a leader', () => a.elector.isLeader() || b.elector.isLeader(), 5_000);
    await sleep(500);
    const leader = a.elector.isLeader() ? a : b;
    await Promise.all([cluster.killMember(1), cluster.killMember(2)]);
    // Quorum is gone once both members are dead: a keep-alive answered before that (a loaded
    // machine can take a while to kill them) legitimately extends the lease.
    const lostQuorumAt = performance.now();
    try {
      await until(
        'the leader to step down',
        () => !a.elector.isLeader() && !b.elector.isLeader(),
        TTL + 1_000,
      );
      const lost = firstOf(leader, 'lost');
      expect((lost?.deadline ?? Number.NaN) - lostQuorumAt).toBeLessThanOrEqual(TTL - 600);
      expect((lost?.at ?? Number.NaN) - (lost?.deadline ?? Number.NaN)).toBeLessThanOrEqual(500);
      // A whole TTL later, still nobody leads.
      const sampleEnd = performance.now() + TTL;
      while (performance.now() < sampleEnd) {
        expect(a.elector.isLeader() || b.elector.isLeader()).toBe(false);
        await sleep(50);
      }
      const e = await a.port.get(`${prefix}leader`).then(
        () => null,
        (err: unknown) => err,
      );
      expect(isSwitchyardError(e, 'COORD_UNAVAILABLE')).toBe(true);
    } finally {
      await Promise.all([cluster.startMember(1), cluster.startMember(2)]);
    }
    await cluster.waitHealthy();
    const sampler = watchLeaders([a, b]);
    await until('one leader again', () => a.elector.isLeader() || b.elector.isLeader(), 3 * TTL + 2_000);
    await sleep(TTL);
    sampler.stop();
    expect(sampler.doubles).toEqual([]);
    expect([a, b].filter((n) => n.elector.isLeader())).toHaveLength(1);
  });
});
