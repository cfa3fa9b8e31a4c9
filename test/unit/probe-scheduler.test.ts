import { describe, expect, it } from 'vitest';
import { ProbeScheduler, type ScheduledTarget } from '../../src/probe/scheduler.js';
import type { Probe, ProbeResult } from '../../src/probe/types.js';
import { FakeClock } from '../../src/util/clock.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Advances fake time in small steps, letting promise callbacks run between steps. */
async function advance(clock: FakeClock, ms: number, stepMs = 10): Promise<void> {
  for (let t = 0; t < ms; t += stepMs) {
    clock.advance(Math.min(stepMs, ms - t));
    await flush();
  }
}

interface FakeProbe extends Probe<ProbeResult> {
  starts: number[];
  inFlight: number;
  maxInFlight: number;
  aborts: number;
  resets: number;
  closed: boolean;
}

type Behaviour = 'honours-abort' | 'ignores-abort' | 'wedged';

/**
 * A probe taking `durationMs` of fake time. `honours-abort` settles at the abort (as the real
 * probes do); `ignores-abort` settles only at the end of its duration; `wedged` never settles,
 * whatever happens (abort or reset) — the worst a broken connection could do.
 */
function fakeProbe(
  clock: FakeClock,
  durationMs: number,
  behaviour: Behaviour | boolean = 'honours-abort',
): FakeProbe {
  const mode: Behaviour =
    behaviour === true ? 'ignores-abort' : behaviour === false ? 'honours-abort' : behaviour;
  const p: FakeProbe = {
    starts: [],
    inFlight: 0,
    maxInFlight: 0,
    aborts: 0,
    resets: 0,
    closed: false,
    run(signal) {
      const at = clock.monotonic();
      p.starts.push(at);
      p.inFlight++;
      p.maxInFlight = Math.max(p.maxInFlight, p.inFlight);
      return new Promise((resolve) => {
        const onAbort = () => {
          p.aborts++;
          if (mode !== 'honours-abort') return;
          clock.clearTimeout(h);
          done({
            ok: false,
            at,
            latencyMs: clock.monotonic() - at,
            detail: 'timeout after probe',
            error: 'timeout',
          });
        };
        const done = (r: ProbeResult) => {
          p.inFlight--;
          signal?.removeEventListener('abort', onAbort);
          resolve(r);
        };
        const h =
          mode === 'wedged'
            ? clock.setTimeout(() => undefined, 0)
            : clock.setTimeout(
                () => done({ ok: true, at, latencyMs: clock.monotonic() - at, detail: 'ok' }),
                durationMs,
              );
        signal?.addEventListener('abort', onAbort);
      });
    },
    reset() {
      p.resets++;
    },
    async close() {
      p.closed = true;
    },
  };
  return p;
}

/** close() waits for runs in flight, which need fake time to finish. */
async function closeIn(s: ProbeScheduler, clock: FakeClock): Promise<void> {
  const closing = s.close();
  await advance(clock, 2_000);
  await closing;
}

/**
 * A FakeClock whose monotonic reading can run ahead of its timers, as it does when the event loop
 * was blocked: timers fire at their fake time, and the scheduler then reads a later "now".
 */
class StallClock extends FakeClock {
  ahead = 0;
  override monotonic(): number {
    return super.monotonic() + this.ahead;
  }
}

function target(id: string, probe: Probe<ProbeResult>, over: Partial<ScheduledTarget> = {}): ScheduledTarget {
  return { id, probe, intervalMs: 1_000, timeoutMs: 500, jitter: 0, ...over };
}

describe('ProbeScheduler (fake time)', () => {
  it('spreads first runs over one interval, then keeps each target on its interval', async () => {
    const clock = new FakeClock(0);
    const results: [string, ProbeResult][] = [];
    const s = new ProbeScheduler({ clock, onResult: (id, r) => results.push([id, r]) });
    const probes = Array.from({ length: 200 }, () => fakeProbe(clock, 5));
    probes.forEach((p, i) => {
      s.add(target(`r1.gateway.c${i}`, p));
    });
    s.start();
    await advance(clock, 1_000);
    const firsts = probes.map((p) => p.starts[0] as number);
    expect(firsts.every((t) => t >= 0 && t < 1_000)).toBe(true);
    // Spread: no 100 ms bucket holds more than a fifth of the targets.
    const buckets = new Array(10).fill(0);
    for (const t of firsts) buckets[Math.floor(t / 100)]++;
    expect(Math.max(...buckets)).toBeLessThan(40);
    await advance(clock, 3_000);
    for (const p of probes) {
      const gaps = p.starts.slice(1).map((t, i) => t - (p.starts[i] as number));
      expect(gaps.every((g) => g === 1_000)).toBe(true);
    }
    expect(results.length).toBeGreaterThanOrEqual(200 * 3);
    await closeIn(s, clock);
    expect(probes.every((p) => p.closed)).toBe(true);
  });

  it('keeps every gap within interval × (1 ± jitter)', async () => {
    const clock = new FakeClock(0);
    const s = new ProbeScheduler({ clock, onResult: () => undefined });
    const p = fakeProbe(clock, 5);
    s.add(target('r1.gateway.a', p, { jitter: 0.2 }));
    s.start();
    await advance(clock, 60_000, 50);
    const gaps = p.starts.slice(1).map((t, i) => t - (p.starts[i] as number));
    expect(gaps.length).toBeGreaterThan(45);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1_200);
    expect(new Set(gaps).size).toBeGreaterThan(5); // actually jittered
    await closeIn(s, clock);
  });

  it('aborts a run at its timeout and delivers the probe’s own timeout result', async () => {
    const clock = new FakeClock(0);
    const results: ProbeResult[] = [];
    const s = new ProbeScheduler({ clock, random: () => 0, onResult: (_id, r) => results.push(r) });
    const p = fakeProbe(clock, 10_000);
    s.add(target('r1.gateway.slow', p, { timeoutMs: 300 }));
    s.start();
    await advance(clock, 350);
    expect(p.aborts).toBe(1);
    expect(results).toEqual([expect.objectContaining({ ok: false, error: 'timeout', latencyMs: 300 })]);
    expect(s.counters.timeouts).toBe(1);
    await closeIn(s, clock);
  });

  it('a run ignoring the abort is abandoned at timeout + grace: a timeout failure, a reset, and the next slot runs on time', async () => {
    const clock = new FakeClock(0);
    const results: ProbeResult[] = [];
    const s = new ProbeScheduler({
      clock,
      random: () => 0,
      abortGraceMs: 50,
      stopTimeoutMs: 100,
      onResult: (_id, r) => results.push(r),
    });
    const p = fakeProbe(clock, 1_500, 'ignores-abort'); // runs 1.5 s, ignores aborts
    s.add(target('r1.gateway.stuck', p, { timeoutMs: 500 }));
    s.start();
    await advance(clock, 4_000);
    // Every slot ran: the abandoned run did not hold the next one back.
    expect(p.starts).toEqual([0, 1_000, 2_000, 3_000, 4_000]);
    expect(s.counters.skippedOverlaps).toBe(0);
    expect(results[0]).toMatchObject({ ok: false, error: 'timeout', latencyMs: 550 });
    expect(results[0]?.detail).toContain('did not stop');
    expect(s.counters.abandoned).toBeGreaterThanOrEqual(4);
    expect(p.resets).toBe(s.counters.abandoned);
    // The abandoned runs' late results are dropped, not delivered as a second result per slot.
    expect(s.counters.lateSettled).toBeGreaterThanOrEqual(3);
    expect(results.every((r) => r.ok === false && r.error === 'timeout')).toBe(true);
    expect(results.length).toBe(s.counters.abandoned);
    await closeIn(s, clock);
  });

  it('a run that never settles (a wedged connection) does not wedge the target: every slot gets a result', async () => {
    const clock = new FakeClock(0);
    const results: ProbeResult[] = [];
    const s = new ProbeScheduler({
      clock,
      random: () => 0,
      abortGraceMs: 100,
      stopTimeoutMs: 100,
      onResult: (_id, r) => results.push(r),
    });
    const p = fakeProbe(clock, 0, 'wedged');
    s.add(target('r1.gateway.wedged', p, { timeoutMs: 500 }));
    s.start();
    await advance(clock, 5_000);
    expect(p.starts).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000]);
    // One failure per finished slot, each at timeout + grace, none skipped.
    expect(results).toHaveLength(5);
    for (const r of results) expect(r).toMatchObject({ ok: false, error: 'timeout', latencyMs: 600 });
    expect(s.counters).toMatchObject({ runs: 6, timeouts: 5, abandoned: 5, skippedOverlaps: 0, results: 5 });
    expect(p.resets).toBe(5);
    await closeIn(s, clock);
  });

  it('never two live runs of one target: a slot due while the previous run waits out its grace is skipped', async () => {
    const clock = new FakeClock(0);
    const results: ProbeResult[] = [];
    const s = new ProbeScheduler({
      clock,
      random: () => 0,
      abortGraceMs: 200,
      onResult: (_id, r) => results.push(r),
    });
    const p = fakeProbe(clock, 0, 'wedged');
    // Aborted at 900, abandoned at 1100: the slot at 1000 falls inside the grace.
    s.add(target('r1.gateway.slow', p, { timeoutMs: 900 }));
    s.start();
    await advance(clock, 2_050);
    expect(p.starts).toEqual([0, 2_000]);
    expect(s.counters.skippedOverlaps).toBe(1);
    expect(results).toHaveLength(1);
    await closeIn(s, clock);
  });

  it('records lateness against the plan', async () => {
    const clock = new FakeClock(0);
    const s = new ProbeScheduler({ clock, random: () => 0, onResult: () => undefined });
    s.add(target('r1.gateway.a', fakeProbe(clock, 1)));
    s.start();
    await advance(clock, 4_500, 7);
    const st = s.latenessStats();
    expect(st.count).toBe(5);
    expect(st.p50).toBe(0);
    expect(st.p99).toBe(0);
    await closeIn(s, clock);
  });

  it('rejects a timeout that is not shorter than the interval', () => {
    const s = new ProbeScheduler({ clock: new FakeClock(0), onResult: () => undefined });
    expect(() => s.add(target('r1.gateway.a', fakeProbe(new FakeClock(0), 1), { timeoutMs: 1_000 }))).toThrow(
      /shorter than the interval/,
    );
  });

  it('remove() cancels future runs, aborts the run in flight without a result, and closes the probe', async () => {
    const clock = new FakeClock(0);
    const results: string[] = [];
    const s = new ProbeScheduler({ clock, random: () => 0, onResult: (id) => results.push(id) });
    const a = fakeProbe(clock, 200);
    const b = fakeProbe(clock, 200);
    s.add(target('r1.gateway.a', a));
    s.add(target('r1.gateway.b', b));
    s.start();
    await advance(clock, 100);
    await s.remove('r1.gateway.a');
    expect(a.closed).toBe(true);
    expect(a.aborts).toBe(1);
    await advance(clock, 2_800);
    expect(a.starts).toEqual([0]);
    expect(results.every((id) => id === 'r1.gateway.b')).toBe(true);
    expect(b.starts).toEqual([0, 1_000, 2_000]);
    expect(s.ids()).toEqual(['r1.gateway.b']);
    await closeIn(s, clock);
  });

  it('targets added after start begin within one interval', async () => {
    const clock = new FakeClock(0);
    const s = new ProbeScheduler({ clock, random: () => 0.5, onResult: () => undefined });
    s.start();
    await advance(clock, 250);
    const p = fakeProbe(clock, 1);
    s.add(target('r1.keyManager.jwks', p));
    await advance(clock, 600);
    expect(p.starts).toEqual([750]);
    await closeIn(s, clock);
  });

  it('stop() waits for runs in flight and delivers their results, bounded by stopTimeoutMs', async () => {
    const clock = new FakeClock(0);
    const results: ProbeResult[] = [];
    const s = new ProbeScheduler({ clock, random: () => 0, onResult: (_id, r) => results.push(r) });
    s.add(target('r1.gateway.a', fakeProbe(clock, 200)));
    s.start();
    await advance(clock, 10);
    let stopped = false;
    const stopping = s.stop().then(() => {
      stopped = true;
    });
    await flush();
    expect(stopped).toBe(false);
    await advance(clock, 200);
    await stopping;
    expect(results).toHaveLength(1);
    await advance(clock, 5_000);
    expect(results).toHaveLength(1); // nothing planned after stop
  });

  it('stop() gives up waiting after stopTimeoutMs and aborts what is left', async () => {
    const clock = new FakeClock(0);
    const s = new ProbeScheduler({
      clock,
      random: () => 0,
      stopTimeoutMs: 100,
      abortGraceMs: 10_000,
      onResult: () => undefined,
    });
    const p = fakeProbe(clock, 30_000, true);
    s.add(target('r1.gateway.a', p, { intervalMs: 60_000, timeoutMs: 50_000 }));
    s.start();
    await advance(clock, 10);
    let stopped = false;
    const stopping = s.stop().then(() => {
      stopped = true;
    });
    await advance(clock, 90);
    expect(stopped).toBe(false);
    await advance(clock, 20);
    await stopping;
    expect(stopped).toBe(true);
    expect(p.aborts).toBe(1);
  });

  it('a throwing onResult does not stop the scheduler; the error is reported and counted', async () => {
    const clock = new FakeClock(0);
    const reported: [string, unknown][] = [];
    const s = new ProbeScheduler({
      clock,
      random: () => 0,
      onResult: () => {
        throw new Error('consumer broke');
      },
      onError: (id, err) => reported.push([id, err]),
    });
    const p = fakeProbe(clock, 1);
    s.add(target('r1.gateway.a', p));
    s.start();
    await advance(clock, 2_500);
    expect(p.starts.length).toBe(3);
    expect(s.counters.consumerErrors).toBe(3);
    expect(reported).toHaveLength(3);
    expect(reported[0]?.[0]).toBe('r1.gateway.a');
    expect(String(reported[0]?.[1])).toContain('consumer broke');
    await closeIn(s, clock);
  });

  it('sheds a start the loop reached later than its bound, counts it, and keeps the target’s phase', async () => {
    const clock = new StallClock(0);
    const late: number[] = [];
    const s = new ProbeScheduler({
      clock,
      random: () => 0,
      onResult: () => undefined,
      onLateness: (ms) => late.push(ms),
    });
    const p = fakeProbe(clock, 10);
    s.add(target('r1.gateway.a', p)); // interval 1 s: bound min(1 s, 500 ms)
    s.start();
    await advance(clock, 1_500);
    expect(s.behindMs()).toBe(0);
    clock.ahead = 700; // the loop was blocked for 700 ms: the start planned at 2000 is reached at 2700
    await advance(clock, 1_000);
    expect(s.counters.shed).toBe(1);
    // Runs at 0 and 1000; 2000 shed; the plan keeps its phase: 3000 (scheduler time), not 2700 + 1000.
    expect(p.starts).toEqual([0, 1_000, 3_000]);
    expect(late).toEqual([0, 0, 700, 0]);
    expect(s.latenessStats().max).toBe(700);
    await closeIn(s, clock);
  });

  it('a start late by less than its bound still runs', async () => {
    const clock = new StallClock(0);
    const s = new ProbeScheduler({ clock, random: () => 0, onResult: () => undefined, maxLatenessMs: 400 });
    const p = fakeProbe(clock, 10);
    s.add(target('r1.gateway.a', p, { intervalMs: 2_000 }));
    s.start();
    await advance(clock, 500);
    clock.ahead = 300;
    await advance(clock, 2_000);
    expect(s.counters.shed).toBe(0);
    expect(p.starts).toEqual([0, 2_300]);
    await closeIn(s, clock);
  });

  it('after a stall longer than an interval, every target skips to its next slot in phase: no burst, one shed each', async () => {
    const clock = new StallClock(0);
    const s = new ProbeScheduler({ clock, onResult: () => undefined });
    const probes = Array.from({ length: 50 }, () => fakeProbe(clock, 5));
    probes.forEach((p, i) => {
      s.add(target(`r1.gateway.c${i}`, p));
    });
    s.start();
    await advance(clock, 2_000);
    const phase = probes.map((p) => (p.starts[0] as number) % 1_000);
    clock.ahead = 3_500;
    await advance(clock, 3_000);
    expect(s.counters.shed).toBe(50);
    for (const [i, p] of probes.entries()) {
      const after = p.starts.filter((t) => t > 5_500);
      expect(after.length).toBeGreaterThan(0);
      for (const t of after) expect(t % 1_000).toBeCloseTo(phase[i] as number, 6);
    }
    await closeIn(s, clock);
  });

  it('starts due together are spread over turns: other timers run between batches', async () => {
    const clock = new StallClock(0);
    const s = new ProbeScheduler({ clock, random: () => 0, onResult: () => undefined, turnBudgetMs: 10 });
    const started: number[] = [];
    for (let i = 0; i < 100; i++)
      s.add({
        id: `r1.gateway.c${i}`,
        intervalMs: 10_000,
        timeoutMs: 5_000,
        probe: {
          run: async () => {
            started.push(i);
            clock.ahead += 1; // each start costs 1 ms of CPU
            return { ok: true, at: 0, latencyMs: 0, detail: 'ok' };
          },
          close: async () => undefined,
        },
      });
    s.start();
    let seenAt = -1;
    clock.setTimeout(() => {
      seenAt = started.length;
    }, 0);
    await advance(clock, 5);
    expect(started).toHaveLength(100);
    // The other timer ran after the first batch (~10 ms of starts), not after all 100.
    expect(seenAt).toBeGreaterThan(0);
    expect(seenAt).toBeLessThan(40);
    expect(s.counters.shed).toBe(0);
    await closeIn(s, clock);
  });

  it('stats(): targets, runs in flight, counters, how far behind the plan', async () => {
    const clock = new StallClock(0);
    const s = new ProbeScheduler({ clock, random: () => 0, onResult: () => undefined });
    s.add(target('r1.gateway.a', fakeProbe(clock, 200)));
    s.start();
    await advance(clock, 100);
    expect(s.stats()).toMatchObject({ targets: 1, running: 1, behindMs: 0, counters: { runs: 1 } });
    clock.ahead = 1_200; // the next start (planned at 1000) is now 300 ms overdue
    expect(s.stats().behindMs).toBe(300);
    clock.ahead = 0;
    await closeIn(s, clock);
  });
});
