import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import { nominalWeights } from '../../src/decide/records.js';
import type { TrafficClass } from '../../src/topology/types.js';
import { inputArb } from '../support/engine-arbitraries.js';

/**
 * Invariants of the engine over random topologies, health, state and overrides. Each property
 * states a safety rule from DESIGN.md in a form that could fail.
 */

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
          // Unknown means no evidence at all: no status and no sample (a fresh sample is evidence,
          // and a writable one outside the main is fenced on sight).
          for (const d of Object.values(h.databases ?? {})) {
            d.status = 'unknown';
            delete d.sampledAt;
          }
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
