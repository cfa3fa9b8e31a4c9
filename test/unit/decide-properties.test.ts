import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import { nominalWeights } from '../../src/decide/records.js';
import type {
  DatabaseHealth,
  DecideInput,
  EngineState,
  HealthView,
  Overrides,
  Status,
} from '../../src/decide/types.js';
import { defaultFallback, recordKey } from '../../src/topology/build.js';
import type { Fallback, RecordDef, Region, Topology, TrafficClass } from '../../src/topology/types.js';

/**
 * Invariants of the engine over random topologies, health, state and overrides. Each property
 * states a safety rule from DESIGN.md in a form that could fail.
 */

const NOW = Date.UTC(2026, 5, 1);
const POLICY = {
  failAfterMs: 30_000,
  recoverAfterMs: 120_000,
  staleAfterMs: 30_000,
  panicThreshold: 0.5,
  promotion: {
    mode: 'automatic' as const,
    promoteAfterMs: 60_000,
    maxLagSeconds: 10,
    maxLagBytes: 16 * 1048576,
  },
};
const DBS = ['apim', 'shared'];

const topologyArb: fc.Arbitrary<Topology> = fc
  .record({
    failovers: fc.integer({ min: 0, max: 2 }),
    edges: fc.integer({ min: 0, max: 4 }),
    splitEdges: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    prefReverse: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
    globalAuth: fc.boolean(),
    panicThreshold: fc.constantFrom(0.34, 0.5, 0.75),
    manual: fc.boolean(),
  })
  .map(({ failovers, edges, splitEdges, prefReverse, globalAuth, panicThreshold, manual }) => {
    const main = 'r1';
    const fo = Array.from({ length: failovers }, (_, i) => `r${i + 2}`);
    const ed = Array.from({ length: edges }, (_, i) => `e${i + 1}`);
    const core = [main, ...fo];
    const regions: Region[] = [
      ...core.map(
        (id, i): Region => ({
          id,
          role: i === 0 ? 'main' : 'failover',
          hasGateway: true,
          hasKeyManager: true,
          databases: DBS,
          fallback: defaultFallback(id, i === 0 ? 'main' : 'failover', main, fo),
          fallbackConfigured: false,
        }),
      ),
      ...ed.map((id, i): Region => {
        let fallback: Fallback = defaultFallback(id, 'edge', main, fo);
        if (splitEdges[i] && core.length > 1)
          fallback = { kind: 'split', weights: Object.fromEntries(core.map((c, j) => [c, 10 * (j + 1)])) };
        else if (prefReverse[i] && fallback.kind === 'preference')
          fallback = { kind: 'preference', order: [...fallback.order].reverse() };
        return {
          id,
          role: 'edge',
          hasGateway: true,
          hasKeyManager: false,
          databases: [],
          fallback,
          fallbackConfigured: true,
        };
      }),
    ];
    const target = (w = 100) => ({ weight: w, setIdentifier: 'x', values: ['192.0.2.1'] });
    const rec = (
      name: string,
      cls: TrafficClass,
      home: string | undefined,
      targets: string[],
    ): RecordDef => ({
      key: recordKey(name, 'A'),
      name,
      class: cls,
      ...(home ? { home } : {}),
      type: 'A',
      ttlSeconds: 60,
      targets: Object.fromEntries(targets.map((t) => [t, target()])),
    });
    const records: RecordDef[] = [];
    for (const r of regions) {
      records.push(rec(`api.${r.id}.example.com`, 'api', r.id, [r.id, ...core.filter((c) => c !== r.id)]));
      if (!globalAuth) records.push(rec(`auth.${r.id}.example.com`, 'auth', r.id, core));
    }
    if (globalAuth) records.push(rec('auth.example.com', 'auth', undefined, core));
    records.push(rec('manage.example.com', 'management', undefined, core));
    return {
      regions,
      configuredMain: main,
      records,
      policy: {
        ...POLICY,
        panicThreshold,
        promotion: { ...POLICY.promotion, mode: manual ? 'manual' : 'automatic' },
      },
    } satisfies Topology;
  });

const statusArb = fc.constantFrom<Status>('up', 'up', 'down', 'unknown');
const ageArb = fc.constantFrom(0, 5_000, 29_999, 30_000, 59_999, 60_000, 119_999, 120_000, 3_600_000);
const componentArb = fc.record({ status: statusArb, age: ageArb, stale: fc.boolean() });
const dbArb = fc.record({
  status: statusArb,
  age: ageArb,
  role: fc.constantFrom<'primary' | 'replica' | undefined>('replica', 'replica', 'primary', undefined),
  writable: fc.boolean(),
  lagSeconds: fc.constantFrom<number | null>(0, 2, 10, 11, 300, null),
  lagBytes: fc.constantFrom<number | null>(0, 1024, 16 * 1048576, 16 * 1048576 + 1, null),
});

const inputArb: fc.Arbitrary<DecideInput> = topologyArb.chain((topology) => {
  const core = topology.regions.filter((r) => r.role !== 'edge').map((r) => r.id);
  const ids = topology.regions.map((r) => r.id);
  const n = topology.regions.length;
  return fc
    .record({
      gateways: fc.array(componentArb, { minLength: n, maxLength: n }),
      kms: fc.array(componentArb, { minLength: n, maxLength: n }),
      dbs: fc.array(fc.array(dbArb, { minLength: 2, maxLength: 2 }), { minLength: n, maxLength: n }),
      main: fc.constantFrom(...core),
      outs: fc.array(fc.subarray<TrafficClass>(['api', 'auth']), { minLength: n, maxLength: n }),
      drained: fc.subarray(ids),
      frozen: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
      failover: fc.option(fc.record({ to: fc.constantFrom(...core), force: fc.boolean() }), {
        nil: undefined,
      }),
      route: fc.option(
        fc.record({
          record: fc.constantFrom(...topology.records.map((r) => r.name)),
          to: fc.constantFrom(...ids),
        }),
        {
          nil: undefined,
        },
      ),
      useNominal: fc.boolean(),
      // Bias a third of the cases towards a lost main, where the promotion rules are exercised.
      mainLost: fc.integer({ min: 0, max: 2 }).map((n) => n === 0),
    })
    .map(
      ({
        gateways,
        kms,
        dbs,
        main,
        outs,
        drained,
        frozen,
        failover,
        route,
        useNominal,
        mainLost,
      }): DecideInput => {
        const health: HealthView = {};
        const comp = (c: { status: Status; age: number; stale: boolean }) => ({
          status: c.status,
          since: NOW - c.age,
          checkedAt: c.stale ? NOW - 31_000 : NOW,
        });
        topology.regions.forEach((r, i) => {
          health[r.id] = {
            gateway: comp(gateways[i]!),
            ...(r.hasKeyManager ? { keyManager: comp(kms[i]!) } : {}),
            ...(r.databases.length
              ? {
                  databases: Object.fromEntries(
                    r.databases.map((k, j): [string, DatabaseHealth] => {
                      const d = dbs[i]![j]!;
                      return [
                        k,
                        {
                          status: d.status,
                          since: NOW - d.age,
                          checkedAt: NOW,
                          role: d.role,
                          writable: d.writable,
                          lagSeconds: d.lagSeconds,
                          lagBytes: d.lagBytes,
                        },
                      ];
                    }),
                  ),
                }
              : {}),
          };
        });
        if (mainLost)
          for (const d of Object.values(health[main]?.databases ?? {}))
            Object.assign(d, { status: 'down', since: NOW - 3_600_000 });
        const state: EngineState = {
          epoch: 4,
          main,
          out: Object.fromEntries(
            topology.regions.map((r, i) => [r.id, outs[i]!]).filter(([, o]) => (o as string[]).length > 0),
          ),
          weights: useNominal
            ? Object.fromEntries(topology.records.map((r) => [r.key, nominalWeights(r, main, topology)]))
            : {},
        };
        const overrides: Overrides = {
          drained,
          frozen,
          routes: route ? { [route.record]: route.to } : {},
          ...(failover ? { failover } : {}),
        };
        return { topology, health, state, overrides, now: NOW, wall: NOW };
      },
    );
});

const RUNS = { numRuns: 1500 };

describe('decide: invariants', () => {
  it('management has exactly one non-zero region, and it is the post-action main', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = decide(input);
        for (const r of plan.records.filter((x) => x.class === 'management')) {
          const live = Object.entries(r.weights).filter(([, w]) => w > 0);
          expect(live.map(([id]) => id)).toEqual([plan.main]);
        }
      }),
      RUNS,
    );
  });

  it('no record set is ever all zero, and weights are integers 0–255', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        for (const r of decide(input).records) {
          expect(Object.values(r.weights).some((w) => w > 0)).toBe(true);
          for (const w of Object.values(r.weights))
            expect(Number.isInteger(w) && w >= 0 && w <= 255).toBe(true);
        }
      }),
      RUNS,
    );
  });

  it('no traffic goes to a region that is down while a healthy candidate exists', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { topology, health, overrides, now } = input;
        const plan = decide(input);
        if (overrides.frozen || plan.alerts.some((a) => a.kind === 'panic')) return;
        const p = topology.policy;
        const compOf = (region: string, cls: TrafficClass) =>
          cls === 'api' ? health[region]?.gateway : health[region]?.keyManager;
        const fresh = (c: { checkedAt?: number } | undefined) =>
          c?.checkedAt !== undefined && now - c.checkedAt <= p.staleAfterMs;
        const isDown = (region: string, cls: TrafficClass) => {
          const c = compOf(region, cls);
          return !!c && fresh(c) && c.status === 'down' && now - c.since >= p.failAfterMs;
        };
        const dbTrouble = (region: string) =>
          region !== plan.main &&
          Object.values(health[region]?.databases ?? {}).some(
            (d) => fresh(d) && d.status === 'up' && (d.writable === true || d.role === 'primary'),
          );
        const isHealthy = (region: string, cls: TrafficClass) => {
          const c = compOf(region, cls);
          return (
            !!c &&
            fresh(c) &&
            c.status === 'up' &&
            now - c.since >= Math.max(p.recoverAfterMs, p.failAfterMs) &&
            !overrides.drained.includes(region) &&
            !(cls === 'auth' && dbTrouble(region))
          );
        };
        for (const r of plan.records) {
          if (r.class === 'management') continue;
          const def = topology.records.find((d) => d.key === r.key)!;
          if (Object.keys(overrides.routes).includes(def.name)) continue;
          const candidates = Object.keys(def.targets).filter((id) => isHealthy(id, r.class));
          if (candidates.length === 0) continue;
          for (const [id, w] of Object.entries(r.weights))
            if (w > 0) expect(isDown(id, r.class), `${r.name} → ${id}`).toBe(false);
        }
      }),
      RUNS,
    );
  });

  it('no promotion beyond the lag bound unless forced; management moves only with a promotion', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const plan = decide(input);
        const { maxLagSeconds, maxLagBytes } = input.topology.policy.promotion;
        for (const a of plan.actions) {
          if (a.type !== 'promote' || a.resume || a.force) continue;
          for (const d of Object.values(input.health[a.region]?.databases ?? {})) {
            expect(d.role).toBe('replica');
            expect(d.lagSeconds !== null && d.lagSeconds !== undefined && d.lagSeconds <= maxLagSeconds).toBe(
              true,
            );
            expect(d.lagBytes !== null && d.lagBytes !== undefined && d.lagBytes <= maxLagBytes).toBe(true);
          }
        }
        const promote = plan.actions.find((a) => a.type === 'promote');
        if (plan.main !== input.state.main) {
          expect(promote?.region).toBe(plan.main);
          expect(plan.epoch).toBe(input.state.epoch + 1);
          for (const r of plan.records.filter((x) => x.class === 'management'))
            expect(r.dependsOn).toEqual([`promote:${plan.main}`]);
        } else expect(promote).toBeUndefined();
        if (input.topology.policy.promotion.mode === 'manual' && !input.overrides.failover)
          expect(promote).toBeUndefined();
      }),
      RUNS,
    );
  });

  it('unknown evidence never moves traffic or promotes', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        for (const h of Object.values(input.health)) {
          if (h.gateway) h.gateway.status = 'unknown';
          if (h.keyManager) h.keyManager.status = 'unknown';
          for (const d of Object.values(h.databases ?? {})) d.status = 'unknown';
        }
        input.overrides = { drained: [], frozen: false, routes: {} };
        input.state.out = {};
        input.state.weights = Object.fromEntries(
          input.topology.records.map((r) => [r.key, nominalWeights(r, input.state.main, input.topology)]),
        );
        const plan = decide(input);
        expect(plan.actions).toEqual([]);
        expect(plan.records.filter((r) => r.changed)).toEqual([]);
      }),
      RUNS,
    );
  });

  it('is deterministic and does not modify its input', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const before = structuredClone(input);
        const a = decide(input);
        expect(input).toEqual(before);
        expect(decide(structuredClone(input))).toEqual(a);
      }),
      { numRuns: 500 },
    );
  });
});
