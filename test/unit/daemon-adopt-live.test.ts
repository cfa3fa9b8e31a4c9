import { describe, expect, it } from 'vitest';
import { adoptLiveWeights } from '../../src/daemon/adopt-live.js';
import type { EngineState } from '../../src/decide/types.js';
import { buildTopology } from '../../src/topology/build.js';
import { harnessConfig } from '../support/daemon-harness.js';

/** Issue #8.1: live DNS read at start never outranks what the saved state keeps a region out of. */
const topology = buildTopology(harnessConfig());
const engine = (extra: Partial<EngineState> = {}): EngineState => ({
  epoch: 1,
  main: 'r2',
  out: {},
  weights: {},
  ...extra,
});
const none = { drained: [] as string[] };

describe('adoptLiveWeights', () => {
  it('adopts live weights as they are where the saved state excludes nothing they serve', () => {
    const a = adoptLiveWeights(topology, engine(), none, {
      'api.r4.example.com/A': { r4: 60, r1: 40, r2: 0 },
    });
    expect(a).toEqual({
      adopt: { 'api.r4.example.com/A': { r4: 60, r1: 40, r2: 0 } },
      corrected: [],
      skipped: [],
    });
  });

  it('never touches a record the state has weights for, nor an all-zero live set', () => {
    const a = adoptLiveWeights(
      topology,
      engine({ weights: { 'auth.r1.example.com/A': { r1: 0, r2: 100 } } }),
      none,
      { 'auth.r1.example.com/A': { r1: 100, r2: 0 }, 'api.r1.example.com/A': { r1: 0, r2: 0 } },
    );
    expect(a).toEqual({ adopt: {}, corrected: [], skipped: [] });
  });

  it.each([
    ['held out of the class (out)', engine({ out: { r1: ['auth'] } }), none],
    [
      'demoted (an old main kept away from auth)',
      engine({ demoted: { r1: { reason: 'old-main', since: 0, epoch: 1, fenced: true, detail: 'test' } } }),
      none,
    ],
    ['drained by an operator', engine(), { drained: ['r1'] }],
  ])('a region %s gets no weight from the live set', (_what, e, overrides) => {
    const a = adoptLiveWeights(topology, e, overrides, { 'auth.r3.example.com/A': { r1: 50, r2: 50 } });
    expect(a.adopt['auth.r3.example.com/A']).toEqual({ r1: 0, r2: 50 });
    expect(a.corrected).toEqual(['auth.r3.example.com/A']);
  });

  it('management: only the main keeps its weight; a live set on the old main only takes the saved intent', () => {
    const a = adoptLiveWeights(topology, engine(), none, { 'manage.example.com/A': { r1: 100, r2: 0 } });
    expect(a.adopt['manage.example.com/A']).toEqual({ r1: 0, r2: 100 });
    expect(a.corrected).toEqual(['manage.example.com/A']);
  });

  it('a live set serving only an excluded region takes the weights the saved state implies', () => {
    const demoted = { r1: { reason: 'old-main' as const, since: 0, epoch: 1, fenced: true, detail: 'test' } };
    const a = adoptLiveWeights(topology, engine({ demoted, out: { r1: ['api'] } }), none, {
      'auth.r1.example.com/A': { r1: 100, r2: 0 },
      'api.r1.example.com/A': { r1: 100, r2: 0 },
    });
    expect(a.adopt).toEqual({
      'auth.r1.example.com/A': { r1: 0, r2: 100 },
      'api.r1.example.com/A': { r1: 0, r2: 100 },
    });
    expect(a.skipped).toEqual([]);
  });

  it('is not adopted when even the saved state implies no answer that avoids the excluded regions', () => {
    // Both regions with a key manager are out of auth: nothing can serve it.
    const a = adoptLiveWeights(topology, engine({ out: { r1: ['auth'], r2: ['auth'] } }), none, {
      'auth.r1.example.com/A': { r1: 100, r2: 0 },
    });
    expect(a).toEqual({ adopt: {}, corrected: [], skipped: ['auth.r1.example.com/A'] });
  });
});
