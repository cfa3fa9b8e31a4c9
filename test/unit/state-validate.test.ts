import { describe, expect, it } from 'vitest';
import type { EngineState, Overrides } from '../../src/decide/types.js';
import type { JournalEntry, PersistedState } from '../../src/state/types.js';
import { checkState } from '../../src/state/validate.js';
import { buildTopology } from '../../src/topology/build.js';
import { harnessConfig } from '../support/daemon-harness.js';

/**
 * Issue #8.3: the state is checked against the topology and its own journal at start. Each
 * contradiction is an error naming the field (the daemon refuses with STATE_CORRUPT); leftovers of
 * an older configuration are pruned with a warning. r1 main, r2 failover, r3 and r4 edges.
 */
const topology = buildTopology(harnessConfig());

function state(
  engine: Partial<EngineState> = {},
  overrides: Partial<Overrides> = {},
  journal: JournalEntry[] = [],
): PersistedState {
  return {
    version: 1,
    engine: { epoch: 1, main: 'r2', out: { r1: ['api'] }, weights: {}, ...engine },
    overrides: { drained: [], frozen: false, routes: {}, ...overrides },
    journal,
  };
}
const entry = (e: Partial<JournalEntry>): JournalEntry => ({
  id: 'j1',
  epoch: 1,
  action: 'promote',
  target: 'r2',
  phase: 'done',
  at: 0,
  detail: 'test',
  ...e,
});
const errorsOf = (s: PersistedState) => checkState(s, topology).errors;

describe('checkState: contradictions refuse the start (STATE_CORRUPT naming the field)', () => {
  it('a state after a failover, and a fresh one, are accepted as they are', () => {
    for (const s of [state(), state({ epoch: 0, main: 'r1', out: {} })]) {
      const c = checkState(s, topology);
      expect(c.errors).toEqual([]);
      expect(c.warnings).toEqual([]);
      expect(c.state).toEqual(s);
    }
  });

  it.each([
    [
      'an edge region as main',
      { main: 'r3' },
      /^engine\.main: "r3" is an edge region and cannot be the main$/,
    ],
    ['a main that is no region', { main: 'r9' }, /^engine\.main: "r9" is not a region of the configuration$/],
    [
      'a main other than the configured one at epoch 0',
      { main: 'r2', epoch: 0 },
      /^engine\.epoch: 0 with main "r2", but the configuration's main is "r1"/,
    ],
    [
      'a promotion of another (newer) epoch',
      { promotion: { to: 'r2', from: 'r1', epoch: 7, startedAt: 0, force: false } },
      /^engine\.promotion\.epoch: 7 is newer than engine\.epoch 1/,
    ],
    [
      'a promotion to an edge region',
      { promotion: { to: 'r4', from: 'r2', epoch: 1, startedAt: 0, force: false } },
      /^engine\.promotion\.to: "r4" is an edge region/,
    ],
    [
      'a promotion from no region',
      { promotion: { to: 'r2', from: 'r9', epoch: 1, startedAt: 0, force: false } },
      /^engine\.promotion\.from: "r9" is not a region/,
    ],
  ] as const)('%s', (_what, engine, message) => {
    const errors = errorsOf(state(engine as Partial<EngineState>));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it.each([
    [
      'a drained region that does not exist',
      { drained: ['r1', 'r9'] },
      /^overrides\.drained\[1\]: "r9" is not a region/,
    ],
    [
      'a forced route for an unknown record',
      { routes: { 'nope.example.com': 'r1' } },
      /^overrides\.routes\["nope\.example\.com"\]: no such record/,
    ],
    [
      'a forced route to an unknown region',
      { routes: { 'api.r3.example.com': 'r9' } },
      /^overrides\.routes\["api\.r3\.example\.com"\]: "r9" is not a region/,
    ],
    [
      'a failover override to an edge region',
      { failover: { to: 'r3', force: false } },
      /^overrides\.failover\.to: "r3" is an edge region/,
    ],
  ] as const)('overrides: %s', (_what, overrides, message) => {
    const errors = errorsOf(state({}, overrides as Partial<Overrides>));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(message);
  });

  it('the journal: an entry of a newer epoch, or a promotion done at this epoch to another main', () => {
    expect(errorsOf(state({}, {}, [entry({ epoch: 3 })]))).toEqual([
      'journal[0].epoch: 3 is newer than engine.epoch 1',
    ]);
    expect(errorsOf(state({ main: 'r1' }, {}, [entry({ target: 'r2' })]))[0]).toMatch(
      /^engine\.main: "r1", but the journal records "r2" promoted at epoch 1$/,
    );
    // An older promotion, or one followed by a switchover's pending promotion, is no contradiction.
    expect(errorsOf(state({ main: 'r1', epoch: 2 }, {}, [entry({ target: 'r2' })]))).toEqual([]);
  });

  it('every contradiction is reported, not only the first', () => {
    const errors = errorsOf(state({ main: 'r3', epoch: 0 }, { drained: ['r9'] }));
    expect(errors.map((e) => e.split(':')[0])).toEqual([
      'engine.main',
      'engine.epoch',
      'overrides.drained[0]',
    ]);
  });
});

describe('checkState: leftovers of an older configuration are pruned with a warning', () => {
  it('weights, hold-downs and demotions of regions or records no longer configured', () => {
    const c = checkState(
      state({
        out: { r1: ['api'], r9: ['api'] },
        weights: {
          'gone.example.com/A': { r1: 100 },
          'api.r3.example.com/A': { r3: 100, r1: 0, r2: 0, r9: 0 },
          'api.r4.example.com/A': { r4: 0, r1: 0, r2: 0 },
        },
        demoted: {
          r9: { reason: 'old-main', since: 0, epoch: 1, fenced: true, detail: 'x' },
          r2: { reason: 'old-main', since: 0, epoch: 1, fenced: true, detail: 'x' },
        },
      }),
      topology,
    );
    expect(c.errors).toEqual([]);
    expect(c.state.engine.out).toEqual({ r1: ['api'] });
    expect(c.state.engine.weights).toEqual({ 'api.r3.example.com/A': { r3: 100, r1: 0, r2: 0 } });
    expect(c.state.engine.demoted).toEqual({});
    expect(c.warnings).toHaveLength(6);
    expect(c.warnings.join('\n')).toMatch(/engine\.demoted\.r2: the main cannot be demoted; dropped/);
  });

  it('does not modify its input', () => {
    const s = state({ out: { r9: ['api'] } });
    const copy = structuredClone(s);
    checkState(s, topology);
    expect(s).toEqual(copy);
  });
});
