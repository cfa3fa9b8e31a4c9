import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { stageWeights } from '../../src/daemon/staging.js';
import { decide } from '../../src/decide/decide.js';
import { fenceDone, promotionDone, promotionIntent } from '../../src/decide/transitions.js';
import type {
  DecideInput,
  Demotion,
  EngineState,
  HealthView,
  Overrides,
  Status,
} from '../../src/decide/types.js';
import type { RegionId, Topology, TrafficClass } from '../../src/topology/types.js';
import { NOW, topologyArb } from '../support/engine-arbitraries.js';

/**
 * "Unknown evidence moves nothing", checked where the restart bug lived: not from nominal states
 * but from persisted ones — arbitrary ones, and ones the engine itself reaches through a random
 * history of outages, drains, forced routes, failovers and fences. A restart sees no evidence at
 * all; the weights it would write must be exactly the persisted ones.
 */

/** Every component never probed (a restart): no status, no sample. */
function unknownHealth(topology: Topology, now: number): HealthView {
  const h: HealthView = {};
  for (const r of topology.regions)
    h[r.id] = {
      gateway: { status: 'unknown', since: now },
      ...(r.hasKeyManager ? { keyManager: { status: 'unknown', since: now } } : {}),
      ...(r.databases.length
        ? {
            databases: Object.fromEntries(
              r.databases.map((k) => [k, { status: 'unknown' as Status, since: now }]),
            ),
          }
        : {}),
    };
  return h;
}

/** What the executor would write for a plan: the staged weights. */
function written(input: DecideInput): Record<string, Record<RegionId, number>> {
  return stageWeights(decide(input), input.state.weights).now;
}

function assertRestartMovesNothing(
  topology: Topology,
  state: EngineState,
  overrides: Overrides,
  now: number,
) {
  const input: DecideInput = {
    topology,
    health: unknownHealth(topology, now),
    state: structuredClone(state),
    overrides: structuredClone(overrides),
    now,
    wall: now,
  };
  const plan = decide(structuredClone(input));
  try {
    expect(written(input)).toEqual(state.weights);
  } catch (e) {
    (globalThis as { failing?: unknown }).failing = structuredClone(input);
    throw e;
  }
  expect(
    written(input),
    JSON.stringify({
      state,
      overrides,
      records: plan.records
        .filter((r) => JSON.stringify(r.weights) !== JSON.stringify(state.weights[r.key]))
        .map((r) => [r.name, r.weights, r.dependsOn, r.reason]),
    }),
  ).toEqual(state.weights);
  // A pending promotion resumes (its intent was recorded on evidence); nothing else is started.
  expect(plan.actions.filter((a) => !(a.type === 'promote' && a.resume))).toEqual([]);
  expect(plan.main).toBe(state.promotion?.to ?? state.main);
}

const arbitraryState = topologyArb.chain((topology) => {
  const core = topology.regions.filter((r) => r.role !== 'edge').map((r) => r.id);
  const weightArb = fc.constantFrom(0, 0, 10, 50, 100);
  const recordWeights = topology.records.map((r) =>
    fc
      .record(
        Object.fromEntries(Object.keys(r.targets).map((id) => [id, weightArb])) as Record<
          string,
          fc.Arbitrary<number>
        >,
      )
      .map((w) =>
        Object.values(w).some((v) => v > 0) ? w : { ...w, [Object.keys(r.targets)[0] as string]: 100 },
      ),
  );
  return fc.record({
    topology: fc.constant(topology),
    main: fc.constantFrom(...core),
    epoch: fc.integer({ min: 1, max: 9 }),
    weights: fc.tuple(...recordWeights),
    out: fc.array(fc.subarray<TrafficClass>(['api', 'auth']), {
      minLength: topology.regions.length,
      maxLength: topology.regions.length,
    }),
    // Every kind of demotion the engine persists, fenced or not, on any region but the main.
    demoted: fc.array(
      fc.option(
        fc.record({
          reason: fc.constantFrom<Demotion['reason']>('old-main', 'split-brain', 'detached'),
          fenced: fc.boolean(),
        }),
      ),
      { minLength: core.length, maxLength: core.length },
    ),
    drained: fc.subarray(topology.regions.map((r) => r.id)),
    route: fc.option(
      fc.record({
        record: fc.constantFrom(...topology.records.filter((r) => r.class !== 'management')),
        pick: fc.nat(),
      }),
    ),
    core: fc.constant(core),
  });
});

describe('restart with no evidence', () => {
  it('writes exactly the persisted weights, from an arbitrary persisted state (every demotion kind, drains, forced routes)', () => {
    fc.assert(
      fc.property(
        arbitraryState,
        ({ topology, main, epoch, weights, out, demoted, drained, route, core }) => {
          const state: EngineState = {
            epoch,
            main,
            out: Object.fromEntries(
              topology.regions
                .map((r, i) => [r.id, out[i] as TrafficClass[]])
                .filter(([, o]) => (o as TrafficClass[]).length > 0),
            ),
            weights: Object.fromEntries(
              topology.records.map((r, i) => [r.key, weights[i] as Record<string, number>]),
            ),
            demoted: Object.fromEntries(
              core.flatMap((id, i) => {
                const d = demoted[i];
                return d && id !== main ? [[id, { ...d, since: 0, epoch, detail: 'test' }]] : [];
              }),
            ),
          };
          // The overrides in force were applied before the state was saved (intent first): a drained
          // region, and the target of a forced route, already have their weights in the state.
          const routes: Overrides['routes'] = {};
          if (route) {
            const ids = Object.keys(route.record.targets);
            const to = ids[route.pick % ids.length] as RegionId;
            routes[route.record.name] = to;
            state.weights[route.record.key] = Object.fromEntries(ids.map((id) => [id, id === to ? 100 : 0]));
          }
          for (const r of topology.records) {
            const w = state.weights[r.key] as Record<RegionId, number>;
            if (routes[r.name] !== undefined || r.class === 'management') continue;
            const kept = Object.fromEntries(
              Object.entries(w).map(([id, v]) => [id, drained.includes(id) ? 0 : v]),
            );
            if (Object.values(kept).some((v) => v > 0)) state.weights[r.key] = kept;
          }
          // Management is not evidence-driven: the persisted weights of a consistent state point it at the main.
          for (const r of topology.records.filter((x) => x.class === 'management'))
            state.weights[r.key] = Object.fromEntries(
              Object.keys(r.targets).map((id) => [id, id === main ? 100 : 0]),
            );
          assertRestartMovesNothing(topology, state, { drained, frozen: false, routes }, NOW);
        },
      ),
      { numRuns: 1000 },
    );
  });

  const step = fc.record({
    // Per region: gateway, key manager, databases as one of a few situations.
    situation: fc.array(
      // 'detached': the databases answer as read-only primaries that replicate from nobody.
      fc.constantFrom('up', 'up', 'up', 'gw-down', 'km-down', 'db-down', 'all-down', 'unknown', 'detached'),
      {
        minLength: 8,
        maxLength: 8,
      },
    ),
    dbWritable: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    advance: fc.constantFrom(1_000, 10_000, 30_000, 61_000, 130_000, 600_000),
    override: fc.constantFrom('none', 'none', 'drain', 'undrain', 'route', 'unroute', 'failover'),
    pick: fc.nat(),
    promotionSucceeds: fc.boolean(),
    fenceSucceeds: fc.boolean(),
  });

  it('writes exactly the persisted weights, from any state the engine reaches', () => {
    // Which kinds of exclusion the histories reached: the property must have met each of them.
    const seen = new Set<string>();
    fc.assert(
      fc.property(topologyArb, fc.array(step, { minLength: 1, maxLength: 25 }), (topology, steps) => {
        const ids = topology.regions.map((r) => r.id);
        const core = topology.regions.filter((r) => r.role !== 'edge').map((r) => r.id);
        let state: EngineState = { epoch: 0, main: topology.configuredMain, out: {}, weights: {} };
        let overrides: Overrides = { drained: [], frozen: false, routes: {} };
        let now = NOW;
        // When each region's current situation began (hold-downs are measured from there).
        const since = new Map<string, { situation: string; at: number }>();
        for (const s of steps) {
          now += s.advance;
          const pick = <T>(xs: readonly T[]): T => xs[s.pick % xs.length] as T;
          if (s.override === 'drain')
            overrides = { ...overrides, drained: [...new Set([...overrides.drained, pick(ids)])] };
          if (s.override === 'undrain') overrides = { ...overrides, drained: overrides.drained.slice(1) };
          if (s.override === 'route')
            overrides = { ...overrides, routes: { [pick(topology.records).name]: pick(ids) } };
          if (s.override === 'unroute') overrides = { ...overrides, routes: {} };
          const failover = s.override === 'failover' ? { to: pick(core), force: true } : undefined;
          const health: HealthView = {};
          topology.regions.forEach((r, i) => {
            const sit = s.situation[i % 8] as string;
            const prev = since.get(r.id);
            const at = prev && prev.situation === sit ? prev.at : now - s.advance;
            since.set(r.id, { situation: sit, at });
            const st = (down: boolean): Status => (sit === 'unknown' ? 'unknown' : down ? 'down' : 'up');
            const comp = (down: boolean) => ({ status: st(down), since: at, checkedAt: now });
            const dbDown = sit === 'db-down' || sit === 'all-down';
            const isMain = r.id === state.main;
            const detached = sit === 'detached' && !isMain;
            health[r.id] = {
              gateway: comp(sit === 'gw-down' || sit === 'all-down'),
              ...(r.hasKeyManager ? { keyManager: comp(sit === 'km-down' || sit === 'all-down') } : {}),
              ...(r.databases.length
                ? {
                    databases: Object.fromEntries(
                      r.databases.map((k) => [
                        k,
                        {
                          ...comp(dbDown),
                          ...(st(dbDown) === 'up'
                            ? {
                                sampledAt: now,
                                role:
                                  isMain || detached || s.dbWritable[i % 8]
                                    ? ('primary' as const)
                                    : ('replica' as const),
                                writable: !detached && (isMain || (s.dbWritable[i % 8] ?? false)),
                                lagSeconds: 0,
                                lagBytes: 0,
                                streaming: !isMain && !detached,
                              }
                            : {}),
                        },
                      ]),
                    ),
                  }
                : {}),
            };
          });
          const input: DecideInput = {
            topology,
            health,
            state,
            overrides: { ...overrides, ...(failover ? { failover } : {}) },
            now,
            wall: now,
          };
          const plan = decide(input);
          // The executor's semantics: save the staged weights, then fences, then the promotion.
          const staged = stageWeights(plan, state.weights);
          state = {
            ...state,
            out: plan.next.out,
            weights: staged.now,
            ...(plan.next.demoted ? { demoted: plan.next.demoted } : {}),
          };
          if (!plan.next.demoted) delete state.demoted;
          for (const a of plan.actions)
            if (a.type === 'fence' && s.fenceSucceeds) state = fenceDone(state, a.region);
          const promote = plan.actions.find((a) => a.type === 'promote');
          if (promote?.type === 'promote') {
            state = promotionIntent(state, promote, now);
            if (s.promotionSucceeds) {
              state = promotionDone(state, promote, { oldMainFenced: s.fenceSucceeds, wall: now });
              state = { ...state, weights: staged.afterPromotion ?? state.weights };
            }
          }
        }
        for (const d of Object.values(state.demoted ?? {}))
          seen.add(`${d.reason}${d.fenced ? ' (fenced)' : ''}`);
        if (overrides.drained.length > 0) seen.add('drained');
        try {
          assertRestartMovesNothing(topology, state, overrides, now + 5_000);
        } catch (e) {
          const { writeFileSync } = require('node:fs');
          writeFileSync(
            '/tmp/failing-input.json',
            JSON.stringify((globalThis as { failing?: unknown }).failing),
          );
          throw e;
        }
      }),
      { numRuns: 400 },
    );
    expect([...seen].sort()).toEqual(
      expect.arrayContaining([
        'detached (fenced)',
        'drained',
        'old-main',
        'old-main (fenced)',
        'split-brain',
      ]),
    );
  });
});
