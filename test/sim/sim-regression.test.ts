import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/sim/report.js';
import { runSimulation, type SimReport } from '../../src/sim/run.js';

/**
 * Every seed that once failed (test/sim/regression-seeds.json: what it found, and the fix), replayed
 * strictly: each must end as it says. Its own file so that CI runs it beside the seed budget
 * (test/sim/sim-seeds.test.ts) on the other worker. A failing run prints its report.
 */

interface Case {
  seed: number;
  scenario: string;
  durationMs: number;
  expect: string;
  /** Director instances (default 1). */
  instances?: number;
  /** Random schedules: the fault rate (default 1). */
  intensity?: number;
  skipKnownBugs?: boolean;
  found?: string;
  bug?: string;
}

const cases = (
  JSON.parse(readFileSync(new URL('./regression-seeds.json', import.meta.url), 'utf8')) as { cases: Case[] }
).cases;

function outcome(r: SimReport): string {
  return r.ok ? 'ok' : (r.violation?.invariant ?? 'failed');
}

const explain = formatReport;

describe('simulator regression seeds', () => {
  for (const c of cases)
    it(`seed ${c.seed} (${c.scenario}, ${c.instances ?? 1} instance(s)) → ${c.expect}${c.bug ? ' [known bug]' : ''}`, {
      timeout: 400_000,
    }, async () => {
      const r = await runSimulation({
        seed: c.seed,
        scenario: c.scenario,
        durationMs: c.durationMs,
        instances: c.instances ?? 1,
        ...(c.intensity !== undefined ? { intensity: c.intensity } : {}),
        skipKnownBugs: c.skipKnownBugs === true,
      });
      expect(outcome(r), explain(r)).toBe(c.expect);
    });
});
