import { describe, expect, it } from 'vitest';
import { SimClock } from '../../src/sim/clock.js';
import { Kernel, WORLD } from '../../src/sim/kernel.js';
import { EventQueue, type QueuedEvent } from '../../src/sim/queue.js';
import { SimRandom } from '../../src/sim/random.js';
import { sleep, withDeadline } from '../../src/util/clock.js';

const ev = (at: number, seq: number): QueuedEvent => ({
  at,
  seq,
  owner: 0,
  fn: () => {},
  cancelled: false,
  settle: true,
});

describe('sim event queue', () => {
  it('pops by virtual time, then by sequence number', () => {
    const q = new EventQueue();
    const r = new SimRandom(7).stream('q');
    const all: QueuedEvent[] = [];
    for (let i = 0; i < 500; i++) {
      const e = ev(Math.floor(r() * 50), i);
      all.push(e);
      q.push(e);
    }
    const out: Array<[number, number]> = [];
    for (let e = q.pop(); e; e = q.pop()) out.push([e.at, e.seq]);
    const want = all.map((e) => [e.at, e.seq] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(out).toEqual(want);
  });

  it('drops cancelled events and counts only live ones, also when a fired event is cancelled late', () => {
    const q = new EventQueue();
    const a = ev(1, 1);
    const b = ev(2, 2);
    const c = ev(3, 3);
    for (const e of [a, b, c]) q.push(e);
    q.cancel(b);
    expect(q.size).toBe(2);
    expect(q.pop()).toBe(a);
    q.cancel(a); // clearTimeout of a timer that already fired
    expect(q.size).toBe(1);
    expect(q.pop()).toBe(c);
    expect(q.pop()).toBeUndefined();
    expect(q.size).toBe(0);
  });
});

describe('sim kernel', () => {
  it('runs events in time order, ties in scheduling order, and moves its clock to each event', async () => {
    const k = new Kernel();
    const seen: string[] = [];
    k.schedule(20, () => seen.push(`b@${k.now}`));
    k.schedule(10, () => seen.push(`a@${k.now}`));
    k.schedule(20, () => seen.push(`c@${k.now}`));
    const r = await k.run(100);
    expect(r.reason).toBe('until');
    expect(seen).toEqual(['a@10', 'b@20', 'c@20']);
    expect(k.now).toBe(100);
  });

  it('lets a deep promise chain settle after each event, before the next one', async () => {
    const k = new Kernel();
    const seen: string[] = [];
    k.schedule(1, () => {
      // 50 hops of microtasks plus a nextTick: all must run before the event at the same instant.
      let p: Promise<void> = Promise.resolve();
      for (let i = 0; i < 50; i++) p = p.then(() => undefined);
      void p.then(() => process.nextTick(() => seen.push('chain done')));
    });
    k.schedule(1, () => seen.push('next event'));
    await k.run(10);
    expect(seen).toEqual(['chain done', 'next event']);
  });

  it('drives the real clock helpers (sleep, withDeadline) through a SimClock', async () => {
    const k = new Kernel();
    const clock = new SimClock(k, k.addOwner('i1'), { monotonicOrigin: 5_000 });
    const seen: number[] = [];
    void (async () => {
      await sleep(clock, 1_500);
      seen.push(clock.monotonic());
      const r = await withDeadline(clock, new Promise<string>(() => {}), 2_000, () => 'late');
      seen.push(clock.monotonic());
      expect(r).toBe('late');
    })();
    await k.run(10_000);
    expect(seen).toEqual([6_500, 8_500]);
  });

  it('holds a paused owner’s timers and fires every one that came due, in order, when it resumes', async () => {
    const k = new Kernel();
    const owner = k.addOwner('i1');
    const clock = new SimClock(k, owner);
    const seen: Array<[string, number]> = [];
    for (const at of [100, 200, 300]) clock.setTimeout(() => seen.push([`t${at}`, k.now]), at);
    k.schedule(150, () => k.pause(owner, 1_000), { owner: WORLD });
    k.schedule(400, () => seen.push(['world', k.now]));
    await k.run(2_000);
    expect(seen).toEqual([
      ['t100', 100],
      ['world', 400],
      ['t200', 1_150],
      ['t300', 1_150],
    ]);
    expect(k.isPaused(owner)).toBe(false);
  });

  it('a killed owner runs nothing more and arms no timers', async () => {
    const k = new Kernel();
    const owner = k.addOwner('i1');
    const clock = new SimClock(k, owner);
    let fired = 0;
    clock.setTimeout(() => fired++, 100);
    k.schedule(50, () => k.kill(owner));
    await k.run(1_000);
    clock.setTimeout(() => fired++, 10);
    await k.run(2_000);
    expect(fired).toBe(0);
    expect(k.isAlive(owner)).toBe(false);
    expect(k.pending()).toBe(0);
  });

  it('reports an exception thrown by an event as the owner’s crash', async () => {
    const k = new Kernel();
    const owner = k.addOwner('i1');
    new SimClock(k, owner).setTimeout(() => {
      throw new Error('boom');
    }, 5);
    const r = await k.run(100);
    expect(r.reason).toBe('error');
    expect(r.error?.owner).toBe('i1');
    expect(r.error?.message).toContain('boom');
  });

  it('fingerprints the order of events: same schedule same hash, another order another hash', async () => {
    const hash = async (order: number[]) => {
      const k = new Kernel();
      for (const at of order) k.schedule(at, () => {});
      await k.run(100);
      return k.fingerprint;
    };
    expect(await hash([1, 2, 3])).toBe(await hash([1, 2, 3]));
    expect(await hash([1, 2, 3])).not.toBe(await hash([1, 2, 4]));
  });
});

describe('sim clock', () => {
  it('steps and skews wall time in both directions without touching monotonic time or timers', async () => {
    const k = new Kernel({ startWall: Date.UTC(2026, 0, 1) });
    const clock = new SimClock(k, k.addOwner('i1'), { monotonicOrigin: 1e9, wallOffsetMs: -250 });
    let firedAt = -1;
    clock.setTimeout(() => {
      firedAt = clock.monotonic();
    }, 1_000);
    k.schedule(500, () => clock.stepWall(-3_600_000));
    k.schedule(600, () => clock.stepWall(+7_200_000));
    await k.run(2_000);
    expect(firedAt).toBe(1e9 + 1_000);
    expect(clock.monotonic()).toBe(1e9 + 2_000);
    expect(clock.wall()).toBe(Date.UTC(2026, 0, 1) + 2_000 - 250 + 3_600_000);
    expect(clock.wallSkew).toBe(3_600_000 - 250);
  });

  it('clearTimeout cancels, and clamps delays like the system clock', async () => {
    const k = new Kernel();
    const clock = new SimClock(k, k.addOwner('i1'));
    const seen: string[] = [];
    const h = clock.setTimeout(() => seen.push('cancelled'), 10);
    clock.setTimeout(() => seen.push(`negative@${k.now}`), -5);
    clock.setTimeout(() => seen.push(`nan@${k.now}`), Number.NaN);
    clock.clearTimeout(h);
    await k.run(100);
    expect(seen).toEqual(['negative@0', 'nan@0']);
  });
});

describe('sim random', () => {
  it('a seed replays the same numbers; another seed or another stream does not', () => {
    const take = (seed: number, name: string) => {
      const r = new SimRandom(seed).stream(name);
      return Array.from({ length: 5 }, () => r());
    };
    expect(take(42, 'a')).toEqual(take(42, 'a'));
    expect(take(42, 'a')).not.toEqual(take(43, 'a'));
    expect(take(42, 'a')).not.toEqual(take(42, 'b'));
    expect(take(2 ** 40, 'a')).not.toEqual(take(2 ** 40 + 2 ** 32, 'a'));
    for (const v of take(1, 'x')) expect(v >= 0 && v < 1).toBe(true);
  });

  it('streams are independent: drawing from one leaves every other sequence as it was', () => {
    const a = new SimRandom(9);
    const b = new SimRandom(9);
    const first = a.stream('faults.gateway-down');
    const noise = b.stream('faults.a-new-kind');
    for (let i = 0; i < 100; i++) noise();
    const second = b.stream('faults.gateway-down');
    expect(Array.from({ length: 10 }, () => first())).toEqual(Array.from({ length: 10 }, () => second()));
  });

  it('refuses seeds that are not non-negative integers', () => {
    expect(() => new SimRandom(-1)).toThrow();
    expect(() => new SimRandom(1.5)).toThrow();
  });
});

describe('sim real-time guard', () => {
  it('records real clocks and timers used from src/ while it is on, and restores them', async () => {
    const { guardRealTime } = await import('../../src/sim/real-time-guard.js');
    const { systemClock } = await import('../../src/util/clock.js');
    const before = Date.now;
    const g = guardRealTime();
    Date.now(); // from test/: not counted
    systemClock.wall(); // Date.now() from src/util/clock.ts
    const h = systemClock.setTimeout(() => {}, 1_000);
    systemClock.clearTimeout(h);
    g.restore();
    expect(Date.now).toBe(before);
    expect(g.uses.map((u) => u.api)).toEqual(['Date.now', 'setTimeout']);
    expect(g.uses[0]?.at).toMatch(/src\/util\/clock\.ts/);
  });
});
