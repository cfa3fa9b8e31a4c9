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
  closed: boolean;
}

/** A probe taking `durationMs` of fake time; honours abort unless `ignoreAbort`. */
function fakeProbe(clock: FakeClock, durationMs: number, ignoreAbort = false): FakeProbe {
  const p: FakeProbe = {
    starts: [],
    inFlight: 0,
    maxInFlight: 0,
    aborts: 0,
    closed: false,
    run(signal) {
      const at = clock.monotonic();
      p.starts.push(at);
      p.inFlight++;
      p.maxInFlight = Math.max(p.maxInFlight, p.inFlight);
      return new Promise((resolve) => {
        const done = (r: ProbeResult) => {
          p.inFlight--;
          resolve(r);
        };
        const h = clock.setTimeout(
          () => done({ ok: true, at, latencyMs: clock.monotonic() - at, detail: 'ok' }),
          durationMs,
        );
        signal?.addEventListener('abort', () => {
          p.aborts++;
          if (ignoreAbort) return;
          clock.clearTimeout(h);
          done({
            ok: false,
            at,
            latencyMs: clock.monotonic() - at,
            detail: 'timeout after probe',
            error: 'timeout',
          });
        });
      });
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

  it('never overlaps runs of one target; a probe ignoring the abort gets a timeout result and its next slot is skipped', async () => {
    const clock = new FakeClock(0);
    const results: ProbeResult[] = [];
    const s = new ProbeScheduler({
      clock,
      random: () => 0,
      abortGraceMs: 50,
      stopTimeoutMs: 100,
      onResult: (_id, r) => results.push(r),
    });
    const p = fakeProbe(clock, 1_500, true); // runs 1.5 s, ignores aborts
    s.add(target('r1.gateway.stuck', p, { timeoutMs: 500 }));
    s.start();
    await advance(clock, 4_000);
    expect(p.maxInFlight).toBe(1);
    // Runs start at 0, (1000 skipped: still running), 2000, (3000 skipped), 4000.
    expect(p.starts).toEqual([0, 2_000, 4_000]);
    expect(s.counters.skippedOverlaps).toBe(2);
    expect(results[0]).toMatchObject({ ok: false, error: 'timeout', latencyMs: 550 });
    expect(results[0]?.detail).toContain('did not stop');
    expect(results).toHaveLength(2); // the late real results are not delivered twice
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

  it('a throwing onResult does not stop the scheduler', async () => {
    const clock = new FakeClock(0);
    const s = new ProbeScheduler({
      clock,
      random: () => 0,
      onResult: () => {
        throw new Error('consumer broke');
      },
    });
    const p = fakeProbe(clock, 1);
    s.add(target('r1.gateway.a', p));
    s.start();
    await advance(clock, 2_500);
    expect(p.starts.length).toBe(3);
    await closeIn(s, clock);
  });
});
