import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type {
  ComponentHealth,
  DatabaseHealth,
  HealthView,
  RegionHealth,
  Status,
} from '../../src/decide/types.js';
import { combineViews, type ObserverView, type QuorumOptions } from '../../src/health/quorum.js';

const NOW = 1_000_000;
const OPTS: QuorumOptions = {
  now: NOW,
  staleAfterMs: 30_000,
  observerStaleAfterMs: 10_000,
  panicThreshold: 0.5,
  regions: ['r1', 'r2', 'r3', 'r4'],
};

const up = (since = NOW - 60_000, checkedAt = NOW - 1_000): ComponentHealth => ({
  status: 'up',
  since,
  checkedAt,
});
const down = (since = NOW - 60_000, checkedAt = NOW - 1_000): ComponentHealth => ({
  status: 'down',
  since,
  checkedAt,
});

function allUp(): HealthView {
  return {
    r1: {
      gateway: up(),
      keyManager: up(),
      databases: { apim: { ...up(), sampledAt: NOW - 1_000, role: 'primary', writable: true } },
    },
    r2: {
      gateway: up(),
      keyManager: up(),
      databases: {
        apim: {
          ...up(),
          sampledAt: NOW - 1_000,
          role: 'replica',
          writable: false,
          lagSeconds: 1,
          lagBytes: 100,
        },
      },
    },
    r3: { gateway: up() },
    r4: { gateway: up() },
  };
}

function obs(id: string, view: HealthView, receivedAt = NOW - 500): ObserverView {
  return { observer: { id, region: id.replace('o', 'r') }, receivedAt, seq: 1, view };
}

describe('quorum: examples', () => {
  it('one observer cut off from r1 is outvoted; the result says who saw what', () => {
    const cut = allUp();
    (cut.r1 as RegionHealth).gateway = down(NOW - 20_000);
    const r = combineViews([obs('o1', cut), obs('o2', allUp()), obs('o3', allUp())], OPTS);
    expect(r.quorum).toBe(2);
    expect(r.view.r1?.gateway?.status).toBe('up');
    expect(r.votes.find((v) => v.key === 'r1.gateway')).toEqual({
      key: 'r1.gateway',
      status: 'up',
      up: ['o2', 'o3'],
      down: ['o1'],
      abstained: [],
    });
    expect(r.view.r1?.gateway?.detail).toMatch(/2 up, 1 down of 3 counted observer\(s\), quorum 2/);
  });

  it('down once a quorum sees it down; since = when the quorum began to agree, checkedAt = the q-th freshest check', () => {
    const a = allUp();
    const b = allUp();
    (a.r1 as RegionHealth).gateway = down(NOW - 30_000, NOW - 2_000);
    (b.r1 as RegionHealth).gateway = down(NOW - 10_000, NOW - 500);
    const r = combineViews([obs('o1', a), obs('o2', b), obs('o3', allUp())], OPTS);
    expect(r.view.r1?.gateway).toMatchObject({ status: 'down', since: NOW - 10_000, checkedAt: NOW - 2_000 });
  });

  it('unknown when neither side has a quorum', () => {
    const a = allUp();
    (a.r3 as RegionHealth).gateway = down();
    const b = allUp();
    (b.r3 as RegionHealth).gateway = { status: 'unknown', since: NOW - 5_000 };
    const r = combineViews([obs('o1', a), obs('o2', b)], OPTS);
    expect(r.quorum).toBe(2);
    expect(r.view.r3?.gateway?.status).toBe('unknown');
    expect(r.view.r1?.gateway?.status).toBe('up');
  });

  it('discounts an observer that sees most regions down while the others do not, and says why', () => {
    const lost: HealthView = {
      r1: { gateway: down() },
      r2: { gateway: down() },
      r3: { gateway: down() },
      r4: { gateway: up() },
    };
    const r = combineViews([obs('o1', lost), obs('o2', allUp()), obs('o3', allUp())], OPTS);
    expect(r.discounted).toEqual([
      {
        id: 'o1',
        region: 'r1',
        reason: expect.stringMatching(/sees 3 of 4 regions down at once \(r1, r2, r3\)/),
      },
    ]);
    expect(r.counted).toEqual(['o2', 'o3']);
    expect(r.view.r1?.gateway?.status).toBe('up');
    // Everyone panicking: nobody is discounted; the engine's panic guard sees it all.
    const all = combineViews([obs('o1', lost), obs('o2', lost), obs('o3', lost)], OPTS);
    expect(all.discounted).toEqual([]);
    expect(all.view.r1?.gateway?.status).toBe('down');
  });

  it('a discounted observer still counts towards the quorum size: two observers, one discounted, decide nothing', () => {
    const lost: HealthView = { r1: { gateway: down() }, r2: { gateway: down() }, r3: { gateway: down() } };
    const r = combineViews([obs('o1', lost), obs('o2', allUp())], OPTS);
    expect(r.quorum).toBe(2);
    expect(r.counted).toEqual(['o2']);
    expect(r.view.r4?.gateway?.status).toBe('unknown');
  });

  it('stale views and stale components do not vote', () => {
    const a = allUp();
    (a.r1 as RegionHealth).gateway = down(NOW - 60_000, NOW - 40_000); // checked 40 s ago > staleAfter
    const r = combineViews(
      [obs('o1', a), obs('o2', allUp()), obs('o3', allUp(), NOW - 11_000), obs('o4', allUp(), NOW - 20_000)],
      OPTS,
    );
    expect(r.live).toEqual(['o1', 'o2']);
    expect(r.stale.map((s) => s.id)).toEqual(['o3', 'o4']);
    expect(r.stale[0]?.reason).toMatch(/received 11000 ms ago/);
    expect(r.votes.find((v) => v.key === 'r1.gateway')).toMatchObject({
      up: ['o2'],
      down: [],
      abstained: ['o1'],
    });
    expect(r.view.r1?.gateway?.status).toBe('unknown');
  });

  it('databases: writable if anyone saw it writable, the worst lag (null wins), the role a quorum reports', () => {
    const a = allUp();
    const b = allUp();
    const c = allUp();
    const db = (v: HealthView) => (v.r2 as RegionHealth).databases?.apim as DatabaseHealth;
    Object.assign(db(a), { writable: true, lagSeconds: 0.5, lagBytes: 10 });
    Object.assign(db(b), { lagSeconds: 4, lagBytes: 5_000 });
    const r = combineViews([obs('o1', a), obs('o2', b), obs('o3', c)], OPTS);
    expect(r.view.r2?.databases?.apim).toMatchObject({
      status: 'up',
      writable: true,
      lagSeconds: 4,
      lagBytes: 5_000,
      role: 'replica',
    });
    Object.assign(db(c), { lagSeconds: null, role: 'primary' });
    const r2 = combineViews([obs('o1', a), obs('o2', b), obs('o3', c)], OPTS);
    expect(r2.view.r2?.databases?.apim?.lagSeconds).toBeNull();
    expect(r2.view.r2?.databases?.apim?.role).toBe('replica');
    Object.assign(db(b), { role: 'primary' });
    const r3 = combineViews([obs('o1', a), obs('o2', b), obs('o3', c)], OPTS);
    expect(r3.view.r2?.databases?.apim?.role).toBe('primary');
  });

  it('a configured quorum is used as given', () => {
    const a = allUp();
    (a.r3 as RegionHealth).gateway = down();
    const b = allUp();
    (b.r3 as RegionHealth).gateway = down();
    const three = combineViews([obs('o1', a), obs('o2', b), obs('o3', allUp())], { ...OPTS, quorum: 3 });
    expect(three.quorum).toBe(3);
    expect(three.view.r3?.gateway?.status).toBe('unknown');
    expect(three.view.r1?.gateway?.status).toBe('up');
    // One observer cannot meet a quorum of two: nothing is known.
    expect(combineViews([obs('o1', a)], { ...OPTS, quorum: 2 }).view).toEqual({});
  });

  it('no live observer: an empty view (the engine reads it as unknown everywhere)', () => {
    const r = combineViews([obs('o1', allUp(), NOW - 60_000)], OPTS);
    expect(r.view).toEqual({});
    expect(r.live).toEqual([]);
  });
});

// ---- properties ----------------------------------------------------------------------------------

const REGIONS = ['r1', 'r2', 'r3', 'r4'];
const statusArb: fc.Arbitrary<Status> = fc.constantFrom('up', 'down', 'unknown');
const componentArb: fc.Arbitrary<ComponentHealth> = fc
  .record({
    status: statusArb,
    sinceAgo: fc.integer({ min: 0, max: 200_000 }),
    checkedAgo: fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }),
  })
  .map(({ status, sinceAgo, checkedAgo }) => ({
    status,
    since: NOW - sinceAgo,
    ...(checkedAgo !== undefined ? { checkedAt: NOW - checkedAgo } : {}),
  }));
const databaseArb: fc.Arbitrary<DatabaseHealth> = fc
  .record({
    base: componentArb,
    role: fc.option(fc.constantFrom('primary' as const, 'replica' as const), { nil: undefined }),
    writable: fc.option(fc.boolean(), { nil: undefined }),
    lag: fc.option(fc.option(fc.integer({ min: 0, max: 100 }), { nil: null }), { nil: undefined }),
  })
  .map(({ base, role, writable, lag }) => ({
    ...base,
    ...(role !== undefined ? { role } : {}),
    ...(writable !== undefined ? { writable } : {}),
    ...(lag !== undefined ? { lagSeconds: lag, lagBytes: lag === null ? null : lag * 1000 } : {}),
  }));
const viewArb: fc.Arbitrary<HealthView> = fc
  .record({
    r1: fc.record({
      gateway: componentArb,
      keyManager: componentArb,
      databases: fc.record({ apim: databaseArb }),
    }),
    r2: fc.record({
      gateway: componentArb,
      keyManager: componentArb,
      databases: fc.record({ apim: databaseArb }),
    }),
    r3: fc.record({ gateway: componentArb }),
    r4: fc.record({ gateway: componentArb }),
  })
  .map((v) => v as HealthView);
const optsArb: fc.Arbitrary<QuorumOptions> = fc.record({
  now: fc.constant(NOW),
  staleAfterMs: fc.constantFrom(10_000, 30_000),
  observerStaleAfterMs: fc.constant(10_000),
  panicThreshold: fc.constantFrom(0.34, 0.5, 0.75),
  regions: fc.constant(REGIONS),
});
const liveAt = fc.integer({ min: NOW - 10_000, max: NOW });
const staleAt = fc.integer({ min: NOW - 100_000, max: NOW - 10_001 });

const observersArb = (min: number, max: number) =>
  fc
    .array(fc.record({ view: viewArb, receivedAt: liveAt }), { minLength: min, maxLength: max })
    .map((xs) => xs.map((x, i) => obs(`o${i + 1}`, x.view, x.receivedAt)));

type Slot = ['gateway' | 'keyManager', string] | ['database', string];
const SLOTS: Slot[] = [
  ['gateway', 'r1'],
  ['keyManager', 'r1'],
  ['database', 'r1'],
  ['gateway', 'r2'],
  ['keyManager', 'r2'],
  ['database', 'r2'],
  ['gateway', 'r3'],
  ['gateway', 'r4'],
];
function at(view: HealthView, [kind, region]: Slot): ComponentHealth | undefined {
  const r = view[region];
  return kind === 'database' ? r?.databases?.apim : r?.[kind];
}
function freshVote(h: ComponentHealth | undefined, o: QuorumOptions): Status | null {
  if (!h || h.status === 'unknown') return null;
  if (h.checkedAt !== undefined && o.now - h.checkedAt > o.staleAfterMs) return null;
  return h.status;
}

describe('quorum: properties', () => {
  it('one live observer: the result is its view, unchanged (stale observers beside it change nothing)', () => {
    fc.assert(
      fc.property(
        viewArb,
        liveAt,
        fc.array(fc.record({ view: viewArb, at: staleAt }), { maxLength: 3 }),
        optsArb,
        (view, t, stale, o) => {
          const others = stale.map((s, i) => obs(`s${i}`, s.view, s.at));
          const r = combineViews([obs('o1', view, t), ...others], o);
          expect(r.view).toEqual(view);
          expect(r.live).toEqual(['o1']);
        },
      ),
    );
  });

  it('with two or more live observers, nothing is up or down on fewer than a majority of fresh votes (never on one)', () => {
    fc.assert(
      fc.property(observersArb(2, 5), optsArb, (observers, o) => {
        const r = combineViews(observers, o);
        const majority = Math.floor(observers.length / 2) + 1;
        for (const slot of SLOTS) {
          const status = at(r.view, slot)?.status;
          if (status !== 'up' && status !== 'down') continue;
          const agreeing = observers.filter((ob) => freshVote(at(ob.view, slot), o) === status);
          expect(agreeing.length).toBeGreaterThanOrEqual(Math.max(2, majority));
        }
      }),
    );
  });

  it('a single dissenting observer never makes a component up or down against the others', () => {
    fc.assert(
      fc.property(
        viewArb,
        fc.integer({ min: 2, max: 4 }),
        fc.constantFrom(...SLOTS),
        componentArb,
        optsArb,
        (view, others, slot, dissent, o) => {
          const agreeing = Array.from({ length: others }, (_, i) => obs(`o${i + 1}`, structuredClone(view)));
          const changed = structuredClone(view);
          const [kind, region] = slot;
          const r0 = changed[region] as RegionHealth;
          if (kind === 'database') (r0.databases as Record<string, DatabaseHealth>).apim = dissent;
          else r0[kind] = dissent;
          const r = combineViews([...agreeing, obs('o9', changed)], o);
          const result = at(r.view, slot)?.status;
          const theirs = freshVote(at(view, slot), o);
          const mine = freshVote(dissent, o);
          if (mine !== null && mine !== theirs) expect(result).not.toBe(mine);
        },
      ),
    );
  });

  it('stale observers never count, and neither do stale or unknown components', () => {
    fc.assert(
      fc.property(
        observersArb(2, 4),
        fc.array(fc.record({ view: viewArb, at: staleAt }), { minLength: 1, maxLength: 3 }),
        optsArb,
        fc.constantFrom(...SLOTS),
        statusArb,
        (observers, stale, o, slot, flip) => {
          const base = combineViews(observers, o);
          const withStale = combineViews(
            [...observers, ...stale.map((s, i) => obs(`s${i}`, s.view, s.at))],
            o,
          );
          expect(withStale.view).toEqual(base.view);
          expect(withStale.stale).toHaveLength(stale.length);
          // Flip the status of every component that is not fresh: the result cannot change.
          const flipped = observers.map((ob) => {
            const v = structuredClone(ob.view);
            const h = at(v, slot);
            if (h && freshVote(h, o) === null && h.status !== 'unknown' && flip !== 'unknown')
              h.status = flip;
            return { ...ob, view: v };
          });
          const after = combineViews(flipped, o);
          for (const s of SLOTS) expect(at(after.view, s)?.status).toBe(at(base.view, s)?.status);
        },
      ),
    );
  });

  it('a discounted observer’s votes do not change the result', () => {
    const panicView = (v: HealthView): HealthView => {
      const p = structuredClone(v);
      for (const r of REGIONS) (p[r] as RegionHealth).gateway = down();
      return p;
    };
    fc.assert(
      fc.property(observersArb(2, 4), viewArb, viewArb, optsArb, (observers, v1, v2, o) => {
        // Make the others calm (every gateway up, fresh) so that only the panicking one is discounted.
        const calm = observers.map((ob) => {
          const v = structuredClone(ob.view);
          for (const r of REGIONS) {
            const reg = v[r] as RegionHealth;
            reg.gateway = up();
            if (reg.keyManager && reg.keyManager.status === 'down') reg.keyManager.status = 'up';
            const db = reg.databases?.apim;
            if (db && db.status === 'down') db.status = 'up';
          }
          return { ...ob, view: v };
        });
        const a = combineViews([...calm, obs('o9', panicView(v1))], o);
        const b = combineViews([...calm, obs('o9', panicView(v2))], o);
        expect(a.discounted.map((d) => d.id)).toEqual(['o9']);
        expect(a.discounted[0]?.reason).toMatch(/regions down at once/);
        for (const s of SLOTS) expect(at(a.view, s)?.status).toBe(at(b.view, s)?.status);
      }),
    );
  });

  it('uses monotonic differences only: shifting every instant and now by the same amount shifts the result', () => {
    const shift = (v: HealthView, d: number): HealthView => {
      const out = structuredClone(v);
      for (const r of Object.values(out)) {
        for (const h of [r.gateway, r.keyManager, ...Object.values(r.databases ?? {})]) {
          if (!h) continue;
          h.since += d;
          if (h.checkedAt !== undefined) h.checkedAt += d;
        }
      }
      return out;
    };
    fc.assert(
      fc.property(observersArb(1, 4), optsArb, fc.integer({ min: -1e9, max: 1e9 }), (observers, o, d) => {
        const a = combineViews(observers, o);
        const moved = observers.map((ob) => ({
          ...ob,
          receivedAt: ob.receivedAt + d,
          view: shift(ob.view, d),
        }));
        const b = combineViews(moved, { ...o, now: o.now + d });
        expect(b.view).toEqual(shift(a.view, d));
        expect(b.discounted).toEqual(a.discounted);
      }),
    );
  });

  it('does not depend on the order observers arrive in', () => {
    fc.assert(
      fc.property(observersArb(2, 5), optsArb, fc.integer({ min: 1, max: 4 }), (observers, o, k) => {
        const rotated = [
          ...observers.slice(k % observers.length),
          ...observers.slice(0, k % observers.length),
        ];
        expect(combineViews(rotated, o)).toEqual(combineViews(observers, o));
      }),
    );
  });
});
