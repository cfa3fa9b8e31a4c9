import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { componentStatus } from '../../src/health/aggregate.js';
import { initialTargetState, step, type TargetState } from '../../src/health/rise-fall.js';

function run(results: boolean[], rise: number, fall: number): TargetState[] {
  const out: TargetState[] = [];
  let s = initialTargetState(0);
  results.forEach((ok, i) => {
    s = step(s, ok, (i + 1) * 1_000, rise, fall);
    out.push(s);
  });
  return out;
}

describe('rise/fall', () => {
  it('starts unknown and becomes up only after `rise` consecutive successes', () => {
    const states = run([true, true], 2, 3);
    expect(initialTargetState(0).status).toBe('unknown');
    expect(states.map((s) => s.status)).toEqual(['unknown', 'up']);
    expect(states[1]?.since).toBe(2_000);
  });

  it('becomes down only after `fall` consecutive failures; a blip changes nothing', () => {
    const states = run([true, true, false, true, false, false, false], 2, 3);
    expect(states.map((s) => s.status)).toEqual(['unknown', 'up', 'up', 'up', 'up', 'up', 'down']);
    expect(states[6]).toMatchObject({ since: 7_000, failures: 3, successes: 0 });
  });

  it('keeps `since` while the status holds', () => {
    const states = run([true, true, true, true], 1, 1);
    expect(states.map((s) => s.since)).toEqual([1_000, 1_000, 1_000, 1_000]);
  });

  it('from unknown, `fall` failures make it down (not only from up)', () => {
    expect(run([false, false, false], 2, 3).map((s) => s.status)).toEqual(['unknown', 'unknown', 'down']);
  });

  it('property: the status changes only after rise/fall identical consecutive results', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { maxLength: 60 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 5 }),
        (rs, rise, fall) => {
          const states = run(rs, rise, fall);
          let prev = initialTargetState(0);
          states.forEach((s, i) => {
            if (s.status !== prev.status) {
              const n = s.status === 'up' ? rise : fall;
              const window = rs.slice(Math.max(0, i - n + 1), i + 1);
              expect(window.length).toBe(n);
              expect(window.every((ok) => ok === (s.status === 'up'))).toBe(true);
              expect(s.since).toBe((i + 1) * 1_000);
            }
            prev = s;
          });
        },
      ),
    );
  });
});

describe('component aggregation (minHealthy)', () => {
  it('is up while at least minHealthy instances are up', () => {
    expect(componentStatus(['up', 'up', 'down'], 2)).toBe('up');
    expect(componentStatus(['up', 'unknown', 'unknown'], 1)).toBe('up');
  });
  it('is down once minHealthy can no longer be reached', () => {
    expect(componentStatus(['up', 'down', 'down'], 2)).toBe('down');
    expect(componentStatus(['down'], 1)).toBe('down');
  });
  it('is unknown without enough evidence either way', () => {
    expect(componentStatus(['unknown', 'unknown', 'unknown'], 2)).toBe('unknown');
    expect(componentStatus(['up', 'down', 'unknown'], 2)).toBe('unknown');
  });
});
