import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planChanges } from '../../src/dns/plan.js';
import type { WeightedSet } from '../../src/dns/types.js';
import { ERROR_CODES } from '../../src/util/errors.js';
import { liveSets, record } from '../support/route53-fixtures.js';

const api = record('api.example.com', ['r1', 'r2', 'r3']);
const auth = record('auth.example.com', ['r1', 'r2']);
const records = [api, auth];
const live = liveSets(records); // r1 = 100, others 0

describe('planChanges', () => {
  it('returns only the sets whose weight differs', () => {
    const plan = planChanges(
      records,
      live,
      { [api.key]: { r1: 0, r2: 100, r3: 0 } },
      { createMissing: false },
    );
    expect(plan.problems).toEqual([]);
    expect(plan.changes.map((c) => [c.setIdentifier, c.weight])).toEqual([
      ['r1', 0],
      ['r2', 100],
    ]);
  });

  it('returns nothing when desired equals live', () => {
    const plan = planChanges(
      records,
      live,
      { [api.key]: { r1: 100, r2: 0, r3: 0 }, [auth.key]: { r1: 100, r2: 0 } },
      { createMissing: false },
    );
    expect(plan).toEqual({ changes: [], problems: [] });
  });

  it('corrects values and TTL drift even when the weight is unchanged', () => {
    const drifted = live.map((s) =>
      s.setIdentifier === 'r2' && s.recordKey === api.key ? { ...s, values: ['10.0.0.1'] } : s,
    );
    const ttl = drifted.map((s) => (s.setIdentifier === 'r3' ? { ...s, ttlSeconds: 300 } : s));
    const plan = planChanges(records, ttl, { [api.key]: { r1: 100 } }, { createMissing: false });
    expect(plan.changes.map((c) => [c.setIdentifier, c.weight, c.values, c.ttlSeconds])).toEqual([
      ['r2', 0, ['192.0.2.2'], 60],
      ['r3', 0, ['192.0.2.3'], 60],
    ]);
  });

  it('treats value order and case as insignificant', () => {
    const rec = {
      ...api,
      targets: { ...api.targets, r1: { weight: 1, setIdentifier: 'r1', values: ['b', 'a'] } },
    };
    const l = liveSets([rec]).map((s) => (s.setIdentifier === 'r1' ? { ...s, values: ['A', 'B'] } : s));
    expect(planChanges([rec], l, { [rec.key]: { r1: 100 } }, { createMissing: false }).changes).toEqual([]);
  });

  it('refuses a change that leaves every set at weight 0 (DNS_ALL_ZERO) and lets other records proceed', () => {
    const plan = planChanges(
      records,
      live,
      { [api.key]: { r1: 0, r2: 0, r3: 0 }, [auth.key]: { r1: 0, r2: 100 } },
      { createMissing: false },
    );
    expect(plan.problems.map((p) => [p.code, p.record])).toEqual([['DNS_ALL_ZERO', api.key]]);
    expect(plan.changes.every((c) => c.recordKey === auth.key)).toBe(true);
    expect(plan.changes).toHaveLength(2);
  });

  it('counts live sets that are not being changed in the all-zero guard', () => {
    // Only r1 is mentioned; r2 and r3 are live at 0: setting r1 to 0 would zero the record.
    const plan = planChanges(records, live, { [api.key]: { r1: 0 } }, { createMissing: false });
    expect(plan.changes).toEqual([]);
    expect(plan.problems[0]?.code).toBe('DNS_ALL_ZERO');
  });

  it('reports a missing set without createMissing, creates it with', () => {
    const partial = live.filter((s) => !(s.recordKey === api.key && s.setIdentifier === 'r3'));
    const without = planChanges(
      records,
      partial,
      { [api.key]: { r1: 100, r2: 0, r3: 50 } },
      { createMissing: false },
    );
    expect(without.changes).toEqual([]);
    expect(without.problems.map((p) => [p.code, p.region])).toEqual([['DNS_MISSING_SET', 'r3']]);
    const withCreate = planChanges(
      records,
      partial,
      { [api.key]: { r1: 100, r2: 0, r3: 50 } },
      { createMissing: true },
    );
    expect(withCreate.problems).toEqual([]);
    expect(withCreate.changes.map((c) => [c.setIdentifier, c.weight, c.values])).toEqual([
      ['r3', 50, ['192.0.2.3']],
    ]);
  });

  it('does not create an all-zero record from nothing', () => {
    const plan = planChanges([auth], [], { [auth.key]: { r1: 0, r2: 0 } }, { createMissing: true });
    expect(plan.changes).toEqual([]);
    expect(plan.problems.map((p) => p.code)).toEqual(['DNS_ALL_ZERO']);
  });

  it('ignores and reports regions and records that are not configured', () => {
    const plan = planChanges(
      records,
      live,
      { [api.key]: { r1: 100, r9: 50 }, 'nope.example.com/A': { r1: 1 } },
      { createMissing: false },
    );
    expect(plan.changes).toEqual([]);
    expect(plan.problems.map((p) => p.code).sort()).toEqual(['DNS_UNKNOWN_RECORD', 'DNS_UNKNOWN_REGION']);
  });

  it('drops a record whose desired weight is out of range', () => {
    const plan = planChanges(records, live, { [api.key]: { r1: 100, r2: 256 } }, { createMissing: false });
    expect(plan.changes).toEqual([]);
    expect(plan.problems.map((p) => p.code)).toEqual(['DNS_INVALID_WEIGHT']);
  });

  it('every problem code it reports is in the error catalogue (issue 8.15)', () => {
    const plan = planChanges(
      records,
      live.filter((s) => !(s.recordKey === api.key && s.setIdentifier === 'r3')),
      {
        [api.key]: { r1: 0, r2: 100, r3: 5, r9: 1 },
        [auth.key]: { r1: 0, r2: 0 },
        'nope.example.com/A': { r1: 1 },
      },
      { createMissing: false },
    );
    const bad = planChanges(records, live, { [api.key]: { r1: 1.5 } }, { createMissing: false });
    const codes = [...plan.problems, ...bad.problems].map((p) => p.code).sort();
    expect(codes).toEqual([
      'DNS_ALL_ZERO',
      'DNS_INVALID_WEIGHT',
      'DNS_MISSING_SET',
      'DNS_UNKNOWN_RECORD',
      'DNS_UNKNOWN_REGION',
    ]);
    for (const code of codes) expect(ERROR_CODES[code].retryable).toBe(false);
  });

  it('never leaves a record with every set at 0, whatever the engine asks (property)', () => {
    const weight = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 }));
    const regions = ['r1', 'r2', 'r3'] as const;
    fc.assert(
      fc.property(
        fc.tuple(weight, weight, weight),
        fc.dictionary(fc.constantFrom(...regions), weight),
        fc.subarray([...regions]),
        fc.boolean(),
        (liveW, want, present, createMissing) => {
          const current: WeightedSet[] = liveSets([api])
            .map((s, i) => ({ ...s, weight: liveW[i] as number }))
            .filter((s) => present.includes(s.setIdentifier as (typeof regions)[number]));
          const plan = planChanges([api], current, { [api.key]: want }, { createMissing });
          const after = new Map(current.map((s) => [s.setIdentifier, s.weight]));
          for (const c of plan.changes) after.set(c.setIdentifier, c.weight);
          if (plan.changes.length > 0) expect([...after.values()].some((w) => w > 0)).toBe(true);
          for (const c of plan.changes) {
            const cur = current.find((s) => s.setIdentifier === c.setIdentifier);
            if (cur) expect(cur.weight).not.toBe(c.weight);
            else expect(createMissing).toBe(true);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
