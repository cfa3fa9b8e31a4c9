import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Status } from '../../src/decide/types.js';
import { componentStatus } from '../../src/health/aggregate.js';
import { initialTargetState, step } from '../../src/health/rise-fall.js';
import type { HealthTarget } from '../../src/health/targets.js';
import { type HealthChange, HealthTracker } from '../../src/health/tracker.js';
import { FakeClock } from '../../src/util/clock.js';

/**
 * The tracker keeps each component's up/down counts per result instead of re-reading every
 * target (issue 13: O(1) per result at thousands of targets). These tests replay random result
 * sequences against the plain rules — `step` per target, `componentStatus` over all of them —
 * and require the same statuses and the same change events, result by result.
 */
function targets(n: number, minHealthy: number, rise: number, fall: number): HealthTarget[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `r1.gateway.gw-${i}`,
    componentId: 'r1.gateway',
    region: 'r1',
    component: 'gateway',
    name: `gw-${i}`,
    minHealthy,
    rise,
    fall,
    intervalMs: 1_000,
    timeoutMs: 500,
    jitter: 0,
    check: { http: { url: `http://10.0.0.${i}/health` } },
  })) as unknown as HealthTarget[];
}

describe('HealthTracker component counts', () => {
  it('gives the status the aggregate rule gives over every target, after every result', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 120 }),
        (n, minRaw, rise, fall, results) => {
          const minHealthy = Math.min(minRaw, n);
          const clock = new FakeClock(0);
          const changes: HealthChange[] = [];
          const tracker = new HealthTracker(targets(n, minHealthy, rise, fall), {
            clock,
            onChange: (c) => changes.push(c),
          });
          const model = Array.from({ length: n }, () => initialTargetState(0));
          let modelComponent: Status = 'unknown';
          results.forEach(([k, ok], i) => {
            const idx = k % n;
            const at = 1_000 * (i + 1);
            const before = changes.length;
            tracker.record(`r1.gateway.gw-${idx}`, { ok, at, latencyMs: 0, detail: ok ? 'ok' : 'bad' });
            const prev = model[idx]?.status;
            model[idx] = step(model[idx] ?? initialTargetState(0), ok, at, rise, fall);
            const want = componentStatus(
              model.map((s) => s.status),
              minHealthy,
            );
            const expected: string[] = [];
            if (model[idx]?.status !== prev) expected.push(`target ${prev}→${model[idx]?.status}`);
            if (want !== modelComponent) expected.push(`component ${modelComponent}→${want}`);
            modelComponent = want;
            expect(changes.slice(before).map((c) => `${c.kind} ${c.from}→${c.to}`)).toEqual(expected);
            expect(tracker.view().r1?.gateway?.status).toBe(want);
            expect(tracker.targets().map((t) => t.status)).toEqual(model.map((s) => s.status));
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('returns to up after a target flaps down and back, with the counts it started from', () => {
    const tracker = new HealthTracker(targets(3, 2, 1, 1), { clock: new FakeClock(0) });
    const rec = (i: number, ok: boolean, at: number) =>
      tracker.record(`r1.gateway.gw-${i}`, { ok, at, latencyMs: 0, detail: '' });
    for (const i of [0, 1, 2]) rec(i, true, 1);
    expect(tracker.view().r1?.gateway?.status).toBe('up');
    rec(0, false, 2);
    rec(1, false, 3);
    expect(tracker.view().r1?.gateway?.status).toBe('down');
    rec(0, true, 4);
    expect(tracker.view().r1?.gateway?.status).toBe('up');
    expect(tracker.view().r1?.gateway?.detail).toBe('2/3 up (minHealthy 2); gw-1: ');
  });
});
