import fc from 'fast-check';
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

/** Random topologies and engine inputs for the engine's property tests. */

export const NOW = Date.UTC(2026, 5, 1);
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

export const topologyArb: fc.Arbitrary<Topology> = fc
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

export const statusArb = fc.constantFrom<Status>('up', 'up', 'down', 'unknown');
export const ageArb = fc.constantFrom(0, 5_000, 29_999, 30_000, 59_999, 60_000, 119_999, 120_000, 3_600_000);
export const componentArb = fc.record({ status: statusArb, age: ageArb, stale: fc.boolean() });
export const dbArb = fc.record({
  status: statusArb,
  age: ageArb,
  role: fc.constantFrom<'primary' | 'replica' | undefined>('replica', 'replica', 'primary', undefined),
  writable: fc.boolean(),
  lagSeconds: fc.constantFrom<number | null>(0, 2, 10, 11, 300, null),
  lagBytes: fc.constantFrom<number | null>(0, 1024, 16 * 1048576, 16 * 1048576 + 1, null),
});

export const inputArb: fc.Arbitrary<DecideInput> = topologyArb.chain((topology) => {
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
                          ...(d.status === 'up' ? { sampledAt: NOW } : {}),
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
