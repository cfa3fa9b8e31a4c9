import { describe, expect, it } from 'vitest';
import { decide } from '../../src/decide/decide.js';
import type { DecideInput } from '../../src/decide/types.js';
import { NOW, plan, scenario, servedBy, weightsOf } from '../support/engine.js';

const MAIN_DOWN = ['r1.gateway', 'r1.keyManager', 'r1.database'];

describe('failover matrix', () => {
  it('keeps every name at home when everything is healthy', () => {
    const p = plan({});
    expect(p.actions).toEqual([]);
    expect(p.records.every((r) => !r.changed)).toBe(true);
    for (const id of ['r1', 'r2', 'r3', 'r4']) expect(servedBy(p, `api.${id}.example.com`)).toEqual([id]);
    expect(servedBy(p, 'manage.example.com')).toEqual(['r1']);
  });

  it('failover region down: its api and auth go to the main (2→1)', () => {
    const p = plan({ down: ['r2.gateway', 'r2.keyManager', 'r2.database'] });
    expect(servedBy(p, 'api.r2.example.com')).toEqual(['r1']);
    expect(servedBy(p, 'auth.r2.example.com')).toEqual(['r1']);
    expect(servedBy(p, 'manage.example.com')).toEqual(['r1']);
    expect(p.actions).toEqual([]);
  });

  it('main down: api and auth go to the failover region at once, management after promotion (1→2)', () => {
    const p = plan({ down: MAIN_DOWN });
    expect(servedBy(p, 'api.r1.example.com')).toEqual(['r2']);
    expect(servedBy(p, 'auth.r1.example.com')).toEqual(['r2']);
    expect(p.records.find((r) => r.name === 'api.r1.example.com')?.dependsOn).toEqual([]);
    const mgmt = p.records.find((r) => r.name === 'manage.example.com');
    expect(mgmt?.weights).toEqual({ r1: 0, r2: 100 });
    expect(mgmt?.dependsOn).toEqual(['promote:r2']);
    expect(p.actions).toMatchObject([{ type: 'promote', region: 'r2', from: 'r1', epoch: 1, force: false }]);
    expect(p.main).toBe('r2');
  });

  it('edge with a preference list: 3→1, or 2 when 1 is down too', () => {
    expect(servedBy(plan({ down: ['r3.gateway'] }), 'api.r3.example.com')).toEqual(['r1']);
    expect(servedBy(plan({ down: ['r3.gateway', ...MAIN_DOWN] }), 'api.r3.example.com')).toEqual(['r2']);
  });

  it('edge with a split: 4→1 and 2 by weight, all to the survivor when one is down', () => {
    expect(weightsOf(plan({ down: ['r4.gateway'] }), 'api.r4.example.com')).toEqual({
      r1: 50,
      r2: 50,
      r4: 0,
    });
    expect(weightsOf(plan({ down: ['r4.gateway', 'r1.gateway'] }), 'api.r4.example.com')).toEqual({
      r1: 0,
      r2: 50,
      r4: 0,
    });
  });

  it('auth of an edge region goes to the key-manager regions in preference order', () => {
    expect(servedBy(plan({}), 'auth.r3.example.com')).toEqual(['r1']);
    expect(servedBy(plan({ down: ['r1.keyManager'] }), 'auth.r3.example.com')).toEqual(['r2']);
  });
});

describe('hold-downs', () => {
  it('traffic stays until the component has been down for failAfter (30s)', () => {
    expect(servedBy(plan({ down: [{ id: 'r3.gateway', for: '29s' }] }), 'api.r3.example.com')).toEqual([
      'r3',
    ]);
    expect(servedBy(plan({ down: [{ id: 'r3.gateway', for: '30s' }] }), 'api.r3.example.com')).toEqual([
      'r1',
    ]);
  });

  it('traffic returns only after recoverAfter (2m) of health', () => {
    const out = { r3: ['api'] };
    expect(servedBy(plan({ elapsed: '119s', state: { out } }), 'api.r3.example.com')).toEqual(['r1']);
    const back = plan({ elapsed: '2m', state: { out } });
    expect(servedBy(back, 'api.r3.example.com')).toEqual(['r3']);
    expect(back.next.out).toEqual({});
  });

  it('a region held out stays out while its state is unknown', () => {
    const p = plan({ unknown: ['r3.gateway'], state: { out: { r3: ['api'] } } });
    expect(servedBy(p, 'api.r3.example.com')).toEqual(['r1']);
    expect(p.next.out).toEqual({ r3: ['api'] });
  });
});

describe('no evidence is not bad evidence', () => {
  it('unknown components move nothing and promote nothing', () => {
    const p = plan({ unknown: [...MAIN_DOWN, 'r2.database', 'r3.gateway'] });
    expect(p.actions).toEqual([]);
    expect(p.records.every((r) => !r.changed)).toBe(true);
  });

  it('a stale probe result counts as unknown, not as down', () => {
    const input = scenario({ down: MAIN_DOWN });
    for (const c of [
      input.health.r1?.gateway,
      input.health.r1?.keyManager,
      ...Object.values(input.health.r1?.databases ?? {}),
    ])
      if (c) c.checkedAt = NOW - 31_000; // staleAfter is 30s
    const p = decide(input);
    expect(p.actions).toEqual([]);
    expect(servedBy(p, 'api.r1.example.com')).toEqual(['r1']);
  });
});

describe('promotion', () => {
  it('waits for promoteAfter (1m) before promoting', () => {
    const p = plan({ down: ['r1.gateway', 'r1.keyManager', { id: 'r1.database', for: '59s' }] });
    expect(p.actions).toEqual([]);
    expect(p.main).toBe('r1');
    expect(p.reasons.join('\n')).toMatch(/promotion considered after 1m/);
  });

  it('refuses when the replica is beyond the lag bound (RPO guard), in seconds or in bytes', () => {
    for (const lag of [{ lagSeconds: 11 }, { lagBytes: 17 * 1048576 }, { lagSeconds: null }]) {
      const p = plan({ down: MAIN_DOWN, database: { r2: { role: 'replica', ...lag } } });
      expect(p.actions).toEqual([]);
      expect(p.main).toBe('r1');
      expect(servedBy(p, 'manage.example.com')).toEqual(['r1']);
      expect(p.alerts.map((a) => a.kind)).toContain('promotion-blocked');
    }
  });

  it('refuses a replica that is down or not a replica', () => {
    expect(plan({ down: [...MAIN_DOWN, 'r2.database.apim'] }).actions).toEqual([]);
    expect(
      plan({ down: MAIN_DOWN, database: { 'r2.shared': { role: 'primary', writable: false } } }).actions,
    ).toEqual([]);
  });

  it('does not promote on a partial loss of the main', () => {
    const p = plan({ down: ['r1.database.apim'] });
    expect(p.actions).toEqual([]);
    expect(p.reasons.join('\n')).toMatch(/partial loss/);
  });

  it('rule 6: with observers in fewer than three regions, automatic promotion waits for an operator', () => {
    const two = { ...scenario({ down: MAIN_DOWN }), observers: { regions: 2 } };
    const p = decide(two);
    expect(p.actions).toEqual([]);
    expect(p.main).toBe('r1');
    expect(p.alerts.map((a) => a.kind)).toEqual(
      expect.arrayContaining(['needs-witnesses', 'awaiting-approval']),
    );
    expect(p.reasons.join('\n')).toMatch(/needs observers in at least three regions and 2 observe now/);
    // Traffic still moves on the quorum's evidence.
    expect(servedBy(p, 'api.r1.example.com')).toEqual(['r2']);
    const three = decide({ ...scenario({ down: MAIN_DOWN }), observers: { regions: 3 } });
    expect(three.actions).toMatchObject([{ type: 'promote', region: 'r2' }]);
  });

  it('in manual mode proposes nothing and says approval is awaited', () => {
    const topology = scenario({}).topology;
    topology.policy.promotion.mode = 'manual';
    const p = plan({ down: MAIN_DOWN }, topology);
    expect(p.actions).toEqual([]);
    expect(p.main).toBe('r1');
    expect(p.alerts).toContainEqual(expect.objectContaining({ kind: 'awaiting-approval', subject: 'r2' }));
    expect(p.reasons.join('\n')).toMatch(/awaits operator approval: switchyard failover --to r2/);
  });

  it('an operator failover promotes without waiting, but honours the RPO guard unless forced', () => {
    const healthy = plan({ failover: { to: 'r2' } });
    expect(healthy.actions).toMatchObject([{ type: 'promote', region: 'r2', force: false }]);
    const lagging = { database: { r2: { role: 'replica', lagSeconds: 60 } } };
    expect(plan({ ...lagging, failover: { to: 'r2' } }).actions).toEqual([]);
    const forced = plan({ ...lagging, failover: { to: 'r2', force: true } });
    expect(forced.actions).toMatchObject([{ type: 'promote', region: 'r2', force: true, lagSeconds: 60 }]);
    expect(forced.reasons.join('\n')).toMatch(/may be lost/);
  });

  it('even a forced failover needs a reachable replica', () => {
    const p = plan({ down: ['r2.database'], failover: { to: 'r2', force: true } });
    expect(p.actions).toEqual([]);
    expect(p.alerts.map((a) => a.kind)).toContain('promotion-blocked');
  });

  it('resumes a promotion whose intent was recorded but not its outcome', () => {
    const input = scenario({ down: MAIN_DOWN, database: { r2: { role: 'primary', writable: true } } });
    input.state.epoch = 3;
    input.state.promotion = { to: 'r2', from: 'r1', epoch: 3, startedAt: NOW - 5_000, force: false };
    const p = decide(input);
    expect(p.actions).toMatchObject([{ type: 'promote', region: 'r2', epoch: 3, resume: true }]);
    expect(p.actions.some((a) => a.type === 'fence')).toBe(false); // the target is not a split-brain
    expect(p.main).toBe('r2');
    expect(p.alerts).toContainEqual(expect.objectContaining({ kind: 'promotion-pending', subject: 'r2' }));
  });

  it('a pending promotion the promoters refuse beyond the RPO bound is resumed forced once an operator forces a failover to it', () => {
    const input = scenario({ down: MAIN_DOWN });
    input.state.epoch = 3;
    input.state.promotion = { to: 'r2', from: 'r1', epoch: 3, startedAt: NOW - 5_000, force: false };
    expect(decide(input).actions).toMatchObject([{ type: 'promote', region: 'r2', force: false }]);
    input.overrides.failover = { to: 'r2', force: false };
    expect(decide(input).actions).toMatchObject([{ type: 'promote', region: 'r2', force: false }]);
    input.overrides.failover = { to: 'r2', force: true };
    expect(decide(input).actions).toMatchObject([
      { type: 'promote', region: 'r2', force: true, resume: true },
    ]);
  });
});

describe('a restart after a failover (issue 8.1)', () => {
  const afterFailover = {
    state: {
      main: 'r2',
      epoch: 1,
      out: { r1: ['api'] },
      weights: {
        'api.r1.example.com': { r1: 0, r2: 100 },
        'auth.r1.example.com': { r1: 0, r2: 100 },
        'auth.r3.example.com': { r1: 0, r2: 100 },
        'auth.r4.example.com': { r1: 0, r2: 100 },
        'manage.example.com': { r1: 0, r2: 100 },
      },
    },
    unknown: [
      'r1.gateway',
      'r1.keyManager',
      'r1.database',
      'r2.gateway',
      'r2.keyManager',
      'r2.database',
      'r3.gateway',
      'r4.gateway',
    ],
  };

  it('everything unknown: no record changes, auth stays away from the fenced old main', () => {
    const p = plan(afterFailover);
    expect(p.records.filter((r) => r.changed).map((r) => r.name)).toEqual([]);
    expect(p.actions).toEqual([]);
    for (const n of ['auth.r1.example.com', 'auth.r3.example.com', 'auth.r4.example.com'])
      expect(servedBy(p, n)).toEqual(['r2']);
  });

  it('with the demotion persisted, auth stays away even once r1 is seen healthy but not replicating', () => {
    const p = plan({
      state: { ...afterFailover.state, out: {}, demoted: { r1: { reason: 'old-main' } } },
      database: { r1: { role: 'primary', writable: false } },
    });
    expect(servedBy(p, 'auth.r3.example.com')).toEqual(['r2']);
    expect(p.alerts.map((a) => a.kind)).toContain('rebuild-needed');
  });

  it('an old main whose fence never completed is fenced once it answers, and says so until then', () => {
    const waiting = plan({
      state: { ...afterFailover.state, demoted: { r1: { reason: 'old-main', fenced: false } } },
      down: ['r1.database'],
    });
    expect(waiting.alerts.map((a) => a.kind)).toContain('old-main-unfenced');
    expect(waiting.actions).toEqual([]);
    const back = plan({
      state: { ...afterFailover.state, demoted: { r1: { reason: 'old-main', fenced: false } } },
      database: { r1: { role: 'primary', writable: false } },
    });
    expect(back.actions).toMatchObject([{ type: 'fence', region: 'r1' }]);
  });
});

describe('split-brain and the returning old main', () => {
  it('fences a writable database outside the main and keeps auth and management away', () => {
    const p = plan({ database: { r2: { role: 'primary', writable: true } } });
    expect(p.actions).toMatchObject([{ type: 'fence', region: 'r2', databases: ['apim', 'shared'] }]);
    expect(servedBy(p, 'auth.r2.example.com')).toEqual(['r1']);
    expect(servedBy(p, 'api.r2.example.com')).toEqual(['r2']);
    expect(servedBy(p, 'manage.example.com')).toEqual(['r1']);
  });

  it('the old main never becomes writable or main again by itself', () => {
    const p = plan({
      state: { main: 'r2', epoch: 1, out: { r1: ['api', 'auth'] } },
      database: { r1: { role: 'primary', writable: true } },
    });
    expect(p.main).toBe('r2');
    expect(p.actions).toMatchObject([{ type: 'fence', region: 'r1' }]);
    expect(servedBy(p, 'manage.example.com')).toEqual(['r2']);
    expect(servedBy(p, 'auth.r1.example.com')).toEqual(['r2']);
    expect(servedBy(p, 'api.r1.example.com')).toEqual(['r1']);
  });

  it('a fenced old main that does not replicate gets no auth traffic and is not a promotion target', () => {
    const p = plan({
      state: { main: 'r2', epoch: 1 },
      down: ['r2.gateway', 'r2.keyManager', 'r2.database'],
      database: { r1: { role: 'primary', writable: false } },
    });
    expect(p.actions.filter((a) => a.type === 'promote')).toEqual([]);
    expect(p.main).toBe('r2');
  });

  it('a replica found writable while the main is lost is fenced, not promoted in the same plan; an operator may force it', () => {
    // A writable "replica" may hold writes the main never had: never promoted automatically.
    const p = plan({ down: MAIN_DOWN, database: { 'r2.shared': { role: 'replica', writable: true } } });
    expect(p.actions).toMatchObject([{ type: 'fence', region: 'r2', databases: ['shared'] }]);
    expect(p.main).toBe('r1');
    expect(p.alerts).toContainEqual(
      expect.objectContaining({
        kind: 'promotion-blocked',
        message: expect.stringMatching(
          /no promotion: r2 is demoted \(split-brain: .*its data may have diverged/,
        ),
      }),
    );
    const asked = plan({
      down: MAIN_DOWN,
      database: { 'r2.shared': { role: 'replica', writable: true } },
      failover: { to: 'r2', force: false },
    });
    expect(asked.actions.map((a) => a.type)).toEqual(['fence']);
    expect(asked.reasons.join('\n')).toMatch(
      /operator failover to r2 refused: r2 is demoted .* use --force to promote it as it is/,
    );
    const forced = plan({
      down: MAIN_DOWN,
      database: { 'r2.shared': { role: 'replica', writable: true } },
      failover: { to: 'r2', force: true },
    });
    expect(forced.actions).toMatchObject([{ type: 'promote', region: 'r2', force: true }]);
    expect(forced.main).toBe('r2');
    expect(forced.next.demoted?.r2).toBeUndefined();
  });
});

describe('guards and overrides', () => {
  it('panic guard: more than half the regions down changes nothing', () => {
    const p = plan({ down: [...MAIN_DOWN, 'r2.gateway', 'r3.gateway'] });
    expect(p.actions).toEqual([]);
    expect(p.records.every((r) => !r.changed)).toBe(true);
    expect(p.alerts.map((a) => a.kind)).toContain('panic');
  });

  it('after the panic guard lifts, hold-downs count from then: down-time seen during the panic moves nothing', () => {
    const during = scenario({ down: [...MAIN_DOWN, 'r2.gateway', 'r3.gateway'] });
    const p1 = decide(during);
    expect(p1.panic).toEqual({ active: true });
    // The other regions answer again; r1 has looked down for the scenario's whole elapsed time.
    const after = scenario({ down: MAIN_DOWN });
    after.panic = p1.panic;
    const p2 = decide(after);
    expect(p2.panic).toEqual({ active: false, liftedAt: after.now });
    expect(servedBy(p2, 'api.r1.example.com')).toEqual(['r1']);
    expect(p2.actions).toEqual([]);
    expect(p2.reasons.join('\n')).toMatch(/panic guard lifted 0ms ago: hold-downs count from then/);
    expect(p2.reasons.join('\n')).toMatch(/r1: gateway down for 0ms; holding api until failAfter/);
    // failAfter after the lift: traffic leaves r1; promoteAfter after it: r2 is promoted.
    const { failAfterMs, promotion } = after.topology.policy;
    // The same evidence, probed again at `now` (so it is not stale).
    const later = (now: number): DecideInput => {
      const health = structuredClone(after.health);
      for (const r of Object.values(health))
        for (const c of [r.gateway, r.keyManager, ...Object.values(r.databases ?? {})])
          if (c) {
            c.checkedAt = now;
            if ('sampledAt' in c && c.sampledAt !== undefined) c.sampledAt = now;
          }
      return { ...after, health, now };
    };
    const p3 = decide({ ...later(after.now + failAfterMs), panic: p2.panic });
    expect(servedBy(p3, 'api.r1.example.com')).toEqual(['r2']);
    const p4 = decide({ ...later(after.now + promotion.promoteAfterMs), panic: p3.panic });
    expect(p4.actions).toMatchObject([{ type: 'promote', region: 'r2' }]);
    // The floor ends with the longest hold-down: later decisions count durations as they are.
    const { recoverAfterMs } = after.topology.policy;
    const longest = Math.max(failAfterMs, recoverAfterMs, promotion.promoteAfterMs);
    expect(decide({ ...later(after.now + longest - 1), panic: p4.panic }).panic.liftedAt).toBe(after.now);
    expect(decide({ ...later(after.now + longest), panic: p4.panic }).panic).toEqual({ active: false });
  });

  it('panic guard: exactly half is not more than half', () => {
    const p = plan({ down: [...MAIN_DOWN, 'r3.gateway'] });
    expect(p.alerts.map((a) => a.kind)).not.toContain('panic');
    expect(servedBy(p, 'api.r3.example.com')).toEqual(['r2']);
  });

  it('never writes an all-zero set: with no candidate, the last good weights stay', () => {
    const p = plan({
      down: ['r1.keyManager', 'r2.keyManager'],
      state: { weights: { 'auth.r3.example.com': { r1: 0, r2: 100 } } },
    });
    expect(weightsOf(p, 'auth.r3.example.com')).toEqual({ r1: 0, r2: 100 });
    expect(p.alerts).toContainEqual(
      expect.objectContaining({ kind: 'no-candidate', subject: 'auth.r3.example.com' }),
    );
  });

  it('a drained region gives up api and auth but nothing else', () => {
    const p = plan({ drained: ['r2'] });
    expect(servedBy(p, 'api.r2.example.com')).toEqual(['r1']);
    expect(servedBy(p, 'auth.r2.example.com')).toEqual(['r1']);
    expect(p.records.filter((r) => r.changed).map((r) => r.name)).toEqual([
      'api.r2.example.com',
      'auth.r2.example.com',
      'auth.r4.example.com', // its split loses r2
    ]);
  });

  it('a maintenance window drains like an operator would', () => {
    expect(servedBy(plan({ maintenance: ['r4'] }), 'api.r4.example.com')).toEqual(['r1', 'r2']);
  });

  it('freeze changes nothing, not even for a lost main', () => {
    const p = plan({ down: MAIN_DOWN, frozen: true });
    expect(p.actions).toEqual([]);
    expect(p.main).toBe('r1');
    expect(p.records.every((r) => !r.changed)).toBe(true);
  });

  it('a forced route wins over the matrix; management cannot be forced', () => {
    const p = plan({ routes: { 'api.r3.example.com': 'r2', 'manage.example.com': 'r2' } });
    expect(servedBy(p, 'api.r3.example.com')).toEqual(['r2']);
    expect(servedBy(p, 'manage.example.com')).toEqual(['r1']);
  });

  it('every changed record and every action carries a reason', () => {
    const p = plan({ down: [...MAIN_DOWN, 'r4.gateway'], database: { r2: { lagSeconds: 1 } } });
    for (const r of p.records.filter((x) => x.changed)) expect(r.reason.length).toBeGreaterThan(5);
    for (const a of p.actions) expect(a.reason.length).toBeGreaterThan(5);
    expect(p.reasons.some((r) => r.startsWith('r1: gateway, keyManager, database down for 1h'))).toBe(true);
  });
});
