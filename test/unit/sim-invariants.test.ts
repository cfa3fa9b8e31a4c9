import { describe, expect, it } from 'vitest';
import type { HealthView } from '../../src/decide/types.js';
import { NO_OVERRIDES } from '../../src/decide/types.js';
import { simConfig } from '../../src/sim/config.js';
import { FaultEngine, type FaultSpec } from '../../src/sim/faults.js';
import { computeBounds } from '../../src/sim/invariants/bounds.js';
import {
  promotionWithinLagBound,
  singleWritablePrimary,
  splitBrainFenced,
} from '../../src/sim/invariants/databases.js';
import { managementOneRegion, neverAllZero } from '../../src/sim/invariants/dns.js';
import { epochMonotonic, savesSerialised, singleActorPerEpoch } from '../../src/sim/invariants/epoch.js';
import {
  holdDownsRespected,
  noDecisionOnPanicTime,
  noMoveOnUnknown,
  noPromotionOnWeakEvidence,
} from '../../src/sim/invariants/evidence.js';
import { noFalseFailover, noMoveWithoutCause } from '../../src/sim/invariants/false-failover.js';
import { allInvariants } from '../../src/sim/invariants/index.js';
import {
  authAwayFromOldMain,
  convergesAfterHealing,
  promotionHappens,
  trafficLeavesFailedRegion,
} from '../../src/sim/invariants/liveness.js';
import { GroundTruth } from '../../src/sim/invariants/truth.js';
import type {
  CheckContext,
  HoldRecord,
  InstanceObservation,
  MoveRecord,
  PromotionRecord,
} from '../../src/sim/invariants/types.js';
import { Kernel } from '../../src/sim/kernel.js';
import { SimRandom } from '../../src/sim/random.js';
import { Trace } from '../../src/sim/trace.js';
import { World } from '../../src/sim/world/world.js';

class FakeInstance implements InstanceObservation {
  moves: MoveRecord[] = [];
  holds: HoldRecord[] = [];
  promotions: PromotionRecord[] = [];
  panics: { from: number; to?: number }[] = [];
  leads: { at: number; epoch: number }[] = [];
  e = 0;
  t = 0;
  m = 'r1';
  constructor(readonly name: string) {}
  alive() {
    return true;
  }
  epoch() {
    return this.e;
  }
  term() {
    return this.t;
  }
  main() {
    return this.m;
  }
}

function setup() {
  const kernel = new Kernel();
  const config = simConfig();
  const world = new World(kernel, new SimRandom(1), config, new Trace());
  world.addObserver('i1', 'r3');
  world.addObserver('i2', 'r1');
  const faults = new FaultEngine(
    kernel,
    world,
    { names: () => ['i1'], pause: () => {}, stepWall: () => {} },
    new Trace(),
  );
  const truth = new GroundTruth();
  const i1 = new FakeInstance('i1');
  const i2 = new FakeInstance('i2');
  const ctx: CheckContext = {
    now: 0,
    world,
    faults,
    truth,
    instances: [i1, i2],
    topology: world.topology,
    bounds: computeBounds(config),
    quorum: 1,
  };
  /** Moves virtual time forward (running scheduled faults) and refreshes the ground truth. */
  const at = async (t: number) => {
    const refresh = () => {
      ctx.now = kernel.now;
      truth.update(kernel.now, world, faults, ['i1'], 1);
      return undefined;
    };
    await kernel.run(t, { afterEvent: refresh });
    refresh();
  };
  const fault = (f: FaultSpec) => faults.schedule(f);
  truth.update(0, world, faults, ['i1'], 1);
  return { kernel, world, faults, truth, i1, i2, ctx, at, fault };
}

/** A health view with every component up since `since`, checked at `checked`. */
function view(since: number, checked: number, patch: (v: HealthView) => void = () => {}): HealthView {
  const up = { status: 'up' as const, since, checkedAt: checked };
  const v: HealthView = {
    r1: {
      gateway: { ...up },
      keyManager: { ...up },
      databases: {
        apim: { ...up, role: 'primary', writable: true },
        shared: { ...up, role: 'primary', writable: true },
      },
    },
    r2: {
      gateway: { ...up },
      keyManager: { ...up },
      databases: {
        apim: { ...up, role: 'replica', writable: false },
        shared: { ...up, role: 'replica', writable: false },
      },
    },
    r3: { gateway: { ...up } },
    r4: { gateway: { ...up } },
  };
  patch(v);
  return v;
}

function move(
  over: Partial<MoveRecord> & Pick<MoveRecord, 'recordKey' | 'before' | 'after'>,
  v: HealthView,
  now: number,
): MoveRecord {
  return {
    at: now,
    instance: 'i1',
    epoch: 0,
    main: 'r1',
    evidence: { views: [v], now, overrides: NO_OVERRIDES, out: {} },
    ...over,
  };
}

describe('sim invariants: DNS', () => {
  it('dns-never-all-zero catches a record whose every set weighs 0', () => {
    const { world, ctx } = setup();
    const inv = neverAllZero();
    expect(inv.check(ctx)).toBeUndefined();
    world.dns.drift('api.r1.example.com/A', 'r1', 0);
    expect(inv.check(ctx)).toMatch(/api\.r1\.example\.com\/A has every set at weight 0/);
  });

  it('management-one-region catches two regions, and a move to a region whose databases are not writable', () => {
    const a = setup();
    const inv = managementOneRegion();
    expect(inv.check(a.ctx)).toBeUndefined();
    a.world.dns.drift('manage.example.com/A', 'r2', 100);
    expect(inv.check(a.ctx)).toMatch(/answers r1 and r2/);

    const b = setup();
    const inv2 = managementOneRegion();
    expect(inv2.check(b.ctx)).toBeUndefined();
    b.world.dns.drift('manage.example.com/A', 'r2', 100);
    b.world.dns.drift('manage.example.com/A', 'r1', 0);
    expect(inv2.check(b.ctx)).toMatch(/moved from r1 to r2 while r2\.apim, r2\.shared were not writable/);
  });
});

describe('sim invariants: epochs and actors', () => {
  it('single-actor-per-epoch: a second instance acting under the same token, or an older one, is caught', async () => {
    const { world, ctx, i1, i2 } = setup();
    const inv = singleActorPerEpoch();
    const write = (by: string) =>
      world.dns.changes.push({
        id: `C${world.dns.changes.length}`,
        at: 0,
        by,
        insyncAt: 0,
        sets: [],
        ambiguous: false,
      });
    write('i1');
    expect(inv.check(ctx)).toBeUndefined();
    write('i2');
    expect(inv.check(ctx)).toMatch(/by i2 in epoch 0 \(term 0\), an epoch i1 already acted in/);
    const inv2 = singleActorPerEpoch();
    inv2.check(ctx);
    i1.e = 3;
    write('i1');
    expect(inv2.check(ctx)).toBeUndefined();
    i2.e = 2;
    i2.t = 1;
    write('i2');
    expect(inv2.check(ctx)).toMatch(
      /by i2 in epoch 2 \(term 1\), after i1 had acted in epoch 3: a deposed actor/,
    );
    const fresh = setup();
    fresh.world.dns.changes.push({
      id: 'C9',
      at: 0,
      by: 'intruder',
      insyncAt: 0,
      sets: [],
      ambiguous: false,
    });
    expect(singleActorPerEpoch().check(fresh.ctx)).toMatch(
      /made by intruder, which is not a director instance/,
    );
  });

  it('single-actor-per-epoch: a new term counts as its epoch acting, so the deposed leader’s next action is caught', () => {
    const { world, ctx, i1, i2 } = setup();
    const inv = singleActorPerEpoch();
    const write = (by: string, epoch?: number) =>
      world.dns.changes.push({
        id: `C${world.dns.changes.length}`,
        at: 0,
        by,
        insyncAt: 0,
        sets: [],
        ambiguous: false,
        ...(epoch !== undefined ? { epoch } : {}),
      });
    i1.e = 2;
    write('i1', 2);
    expect(inv.check(ctx)).toBeUndefined();
    // i1 stops (paused past its lease); i2 takes the lead and begins epoch 3, acting in nothing yet.
    i2.leads.push({ at: 0, epoch: 3 });
    expect(inv.check(ctx)).toBeUndefined();
    // i1 resumes and lands one more write of its own epoch: a deposed actor.
    write('i1', 2);
    expect(inv.check(ctx)).toMatch(/DNS change C1 by i1 in epoch 2 .*after i2 had acted in epoch 3/);
  });

  it('epoch-monotonic catches an instance or a disk going back', () => {
    const { world, ctx, i1 } = setup();
    const inv = epochMonotonic();
    i1.e = 4;
    expect(inv.check(ctx)).toBeUndefined();
    i1.e = 3;
    expect(inv.check(ctx)).toMatch(/i1's epoch went from 4 back to 3/);
    const inv2 = epochMonotonic();
    i1.e = 0;
    const disk = world.disks.get('i2')!;
    disk.saves.push({ at: 0, epoch: 5, main: 'r2', ok: true }, { at: 1, epoch: 7, main: 'r1', ok: false });
    expect(inv2.check(ctx)).toBeUndefined();
    disk.saves.push({ at: 2, epoch: 4, main: 'r1', ok: true });
    expect(inv2.check(ctx)).toMatch(/i2 saved epoch 4 after having saved 5/);
  });

  it('state-saves-serialised catches overlapping saves', () => {
    const { world, ctx } = setup();
    expect(savesSerialised().check(ctx)).toBeUndefined();
    world.disks.get('i1')!.overlaps = 1;
    expect(savesSerialised().check(ctx)).toMatch(/i1 started 1 save/);
  });
});

describe('sim invariants: databases', () => {
  it('single-writable-primary allows an unfenced, unreachable old main but not a fenced one a director made writable again', () => {
    const { world, ctx } = setup();
    const old = world.databases.node('r1', 'apim');
    const neu = world.databases.node('r2', 'apim');
    Object.assign(neu, { role: 'primary', epoch: 1, writableCause: 'promote' });
    world.databases.version++;
    const inv = singleWritablePrimary();
    expect(inv.check(ctx)).toBeUndefined(); // r1 never fenced: nothing completed yet
    Object.assign(old, { everFenced: true, writableCause: 'promote', epoch: 0 });
    world.databases.version++;
    expect(inv.check(ctx)).toMatch(
      /r1\.apim \(epoch 0\) was fenced, then made writable again by a promote, while r2\.apim \(epoch 1\) is writable/,
    );
    Object.assign(old, { writableCause: 'fence-undone' });
    world.databases.version++;
    expect(inv.check(ctx)).toBeUndefined(); // the world undid it; split-brain-fenced is the liveness for that
    Object.assign(old, { epoch: 1, writableCause: 'unfence', everFenced: false });
    world.databases.version++;
    expect(inv.check(ctx)).toMatch(/both writable at epoch 1/);
  });

  it('split-brain-fenced: a reachable second writable primary left unfenced past the bound', async () => {
    const { world, ctx, at } = setup();
    Object.assign(world.databases.node('r2', 'shared'), { role: 'primary', epoch: 1 });
    const inv = splitBrainFenced();
    expect(inv.check(ctx)).toBeUndefined();
    await at(ctx.bounds.splitBrainMs + 1);
    expect(inv.check(ctx)).toMatch(/r1\.shared has been a second writable primary, reachable/);
  });

  it('promotion-within-lag-bound: reported lag over the bound or unknown, unless forced', () => {
    const { world, ctx, i1 } = setup();
    const ev = (seconds: number | null, epoch: number) =>
      world.databases.events.push({
        at: 0,
        kind: 'promote',
        node: 'r2.apim',
        by: 'i1',
        epoch,
        detail: '',
        reportedLag: { seconds, bytes: 0 },
      });
    const inv = promotionWithinLagBound();
    ev(3, 1);
    expect(inv.check(ctx)).toBeUndefined();
    ev(30, 2);
    expect(inv.check(ctx)).toMatch(/reported lag of 30s/);
    ev(null, 3);
    expect(inv.check(ctx)).toMatch(/reported lag of \?s/);
    i1.promotions.push({
      at: 0,
      instance: 'i1',
      epoch: 4,
      region: 'r2',
      from: 'r1',
      force: true,
      evidence: { views: [], now: 0, overrides: NO_OVERRIDES, out: {} },
    });
    ev(300, 4);
    expect(inv.check(ctx)).toBeUndefined();
  });
});

describe('sim invariants: evidence', () => {
  const now = 1_000_000;
  it('no-move-on-unknown: down past failAfter is enough; unknown, stale or too short is not', () => {
    const { ctx, i1 } = setup();
    const inv = noMoveOnUnknown();
    const away = { recordKey: 'api.r1.example.com/A', before: { r1: 100, r2: 0 }, after: { r1: 0, r2: 100 } };
    i1.moves.push(
      move(
        away,
        view(0, now, (v) => Object.assign(v.r1!.gateway!, { status: 'down', since: now - 40_000 })),
        now,
      ),
    );
    expect(inv.check(ctx)).toBeUndefined();
    i1.moves.push(
      move(
        away,
        view(0, now, (v) => Object.assign(v.r1!.gateway!, { status: 'unknown' })),
        now,
      ),
    );
    expect(inv.check(ctx)).toMatch(
      /moved api\.r1\.example\.com\/A away from r1 .* while its gateway was unknown/,
    );
    i1.moves.push(
      move(
        away,
        view(0, now - 31_000, (v) => Object.assign(v.r1!.gateway!, { status: 'down', since: now - 90_000 })),
        now,
      ),
    );
    expect(inv.check(ctx)).toMatch(/while its gateway was unknown/); // stale: older than staleAfter
    i1.moves.push(
      move(
        away,
        view(0, now, (v) => Object.assign(v.r1!.gateway!, { status: 'down', since: now - 10_000 })),
        now,
      ),
    );
    expect(inv.check(ctx)).toMatch(/while its gateway was down for 10s/);
  });

  it('no-move-on-unknown: returning home when the home is seen up, and a region held out, are justified', () => {
    const { ctx, i1 } = setup();
    const inv = noMoveOnUnknown();
    const home = {
      recordKey: 'api.r3.example.com/A',
      before: { r3: 0, r1: 100, r2: 0 },
      after: { r3: 100, r1: 0, r2: 0 },
    };
    i1.moves.push(move(home, view(0, now), now));
    expect(inv.check(ctx)).toBeUndefined();
    // The other way, with r3 merely up: r1 is a fallback, so r3 is not preferred over it… but r1 is up.
    const wrong = {
      recordKey: 'api.r3.example.com/A',
      before: { r3: 100, r1: 0, r2: 0 },
      after: { r3: 0, r1: 100, r2: 0 },
    };
    i1.moves.push(move(wrong, view(0, now), now));
    expect(inv.check(ctx)).toMatch(/away from r3/);
    const held = move(
      { recordKey: 'auth.example.com/A', before: { r1: 100, r2: 100 }, after: { r1: 100, r2: 0 } },
      view(now - 60_000, now),
      now,
    );
    held.evidence.out = { r2: ['auth'] };
    i1.moves.push(held);
    expect(inv.check(ctx)).toBeUndefined();
  });

  it('hold-downs-respected: out needs down past failAfter, back in needs up for recoverAfter', () => {
    const { ctx, i1 } = setup();
    const inv = holdDownsRespected();
    const ev = (v: HealthView) => ({ views: [v], now, overrides: NO_OVERRIDES, out: {} });
    i1.holds.push({
      at: now,
      instance: 'i1',
      region: 'r2',
      cls: 'api',
      change: 'in',
      evidence: ev(view(now - 130_000, now)),
    });
    expect(inv.check(ctx)).toBeUndefined();
    i1.holds.push({
      at: now,
      instance: 'i1',
      region: 'r2',
      cls: 'api',
      change: 'in',
      evidence: ev(view(now - 30_000, now)),
    });
    expect(inv.check(ctx)).toMatch(/let r2 back into api while its gateway was up for 30s/);
    i1.holds.push({
      at: now,
      instance: 'i1',
      region: 'r1',
      cls: 'auth',
      change: 'out',
      evidence: ev(
        view(0, now, (v) => Object.assign(v.r1!.keyManager!, { status: 'down', since: now - 5_000 })),
      ),
    });
    expect(inv.check(ctx)).toMatch(/held r1 out of auth while its keyManager was down for 5s/);
  });

  it('no-decision-on-panic-time: down-time counted while the panic guard held does not count', () => {
    const { ctx, i1 } = setup();
    const inv = noDecisionOnPanicTime();
    i1.panics.push({ from: now - 600_000, to: now - 5_000 });
    const downDb = (v: HealthView) => {
      for (const d of Object.values(v.r1!.databases!))
        Object.assign(d, { status: 'down', since: now - 590_000 });
    };
    const p = (at: number): PromotionRecord => ({
      at,
      instance: 'i1',
      epoch: 1,
      region: 'r2',
      from: 'r1',
      force: false,
      evidence: { views: [view(0, at, downDb)], now: at, overrides: NO_OVERRIDES, out: {} },
    });
    i1.promotions.push(p(now + 70_000)); // a full promoteAfter after the panic: fine
    expect(inv.check(ctx)).toBeUndefined();
    i1.promotions.push(p(now));
    expect(inv.check(ctx)).toMatch(
      /promoted r2 \(epoch 1\) 5s after the panic guard lifted, on r1's down-time counted during the panic/,
    );
    const away = { recordKey: 'api.r1.example.com/A', before: { r1: 100, r2: 0 }, after: { r1: 0, r2: 100 } };
    i1.moves.push(
      move(
        away,
        view(0, now, (v) => Object.assign(v.r1!.gateway!, { status: 'down', since: now - 590_000 })),
        now,
      ),
    );
    expect(inv.check(ctx)).toMatch(
      /moved api\.r1\.example\.com\/A away from r1 5s after the panic guard lifted/,
    );
  });

  it('no-promotion-on-weak-evidence: the main’s databases must be seen down past promoteAfter', () => {
    const { ctx, i1 } = setup();
    const inv = noPromotionOnWeakEvidence();
    const downDb = (v: HealthView, since: number) => {
      for (const d of Object.values(v.r1!.databases!)) Object.assign(d, { status: 'down', since });
    };
    const p = (v: HealthView): PromotionRecord => ({
      at: now,
      instance: 'i1',
      epoch: 1,
      region: 'r2',
      from: 'r1',
      force: false,
      evidence: { views: [v], now, overrides: NO_OVERRIDES, out: {} },
    });
    i1.promotions.push(p(view(0, now, (v) => downDb(v, now - 70_000))));
    expect(inv.check(ctx)).toBeUndefined();
    i1.promotions.push(p(view(0, now, (v) => downDb(v, now - 20_000))));
    expect(inv.check(ctx)).toMatch(/not seen down past promoteAfter/);
  });
});

describe('sim invariants: false failover and liveness', () => {
  it('no-false-failover: a promotion with no real outage is caught; during one it is not', async () => {
    const { world, ctx, at, fault } = setup();
    const inv = noFalseFailover();
    await at(60_000);
    world.databases.events.push({
      at: 60_000,
      kind: 'promote',
      node: 'r2.apim',
      by: 'i1',
      epoch: 1,
      detail: '',
    });
    expect(inv.check(ctx)).toMatch(/i1 promoted r2\.apim with no real outage/);
    const b = setup();
    const inv2 = noFalseFailover();
    b.fault({ kind: 'region-outage', at: 1_000, durationMs: 600_000, params: { region: 'r1' } });
    await b.at(120_000);
    b.world.databases.events.push({
      at: 120_000,
      kind: 'promote',
      node: 'r2.apim',
      by: 'i1',
      epoch: 1,
      detail: '',
    });
    expect(inv2.check(b.ctx)).toBeUndefined();
    void fault;
  });

  it('no-move-without-cause: traffic leaving a nominal region with nothing wrong is caught, not under link loss', async () => {
    const now = 500_000;
    const a = setup();
    await a.at(now);
    a.i1.moves.push(
      move(
        { at: now, recordKey: 'api.r2.example.com/A', before: { r2: 100, r1: 0 }, after: { r2: 0, r1: 100 } },
        view(0, now),
        now,
      ),
    );
    expect(noMoveWithoutCause().check(a.ctx)).toMatch(/moved api\.r2\.example\.com\/A away from r2/);
    const b = setup();
    b.fault({
      kind: 'link-loss',
      at: 1_000,
      durationMs: 10 * 60_000,
      params: { observer: 'i1', region: 'r2', loss: 0.1 },
    });
    await b.at(now);
    b.i1.moves.push(
      move(
        { at: now, recordKey: 'api.r2.example.com/A', before: { r2: 100, r1: 0 }, after: { r2: 0, r1: 100 } },
        view(0, now),
        now,
      ),
    );
    expect(noMoveWithoutCause().check(b.ctx)).toBeUndefined();
  });

  it('traffic-leaves-failed-region: caught past the detection bound, not before, and not while Route 53 is down', async () => {
    const a = setup();
    const inv = trafficLeavesFailedRegion();
    a.fault({
      kind: 'gateway-down',
      at: 200_000,
      durationMs: 3_600_000,
      params: { region: 'r3', mode: 'refused' },
    });
    await a.at(200_000 + a.ctx.bounds.detectMs - 1_000);
    expect(inv.check(a.ctx)).toBeUndefined();
    await a.at(200_000 + a.ctx.bounds.detectMs + 1);
    expect(inv.check(a.ctx)).toMatch(
      /r3 gateway has failed for \d+s .* api\.r3\.example\.com\/A still sends it weight 100/,
    );

    const b = setup();
    b.fault({
      kind: 'gateway-down',
      at: 200_000,
      durationMs: 3_600_000,
      params: { region: 'r3', mode: 'refused' },
    });
    b.fault({ kind: 'dns-outage', at: 210_000, durationMs: 600_000, params: {} });
    await b.at(200_000 + b.ctx.bounds.detectMs + 60_000);
    expect(trafficLeavesFailedRegion().check(b.ctx)).toBeUndefined();
    await b.at(810_000 + b.ctx.bounds.dnsRecoveryMs + 1);
    expect(trafficLeavesFailedRegion().check(b.ctx)).toMatch(/r3 gateway has failed/);
  });

  it('converges-after-healing: a record off its nominal weights long after the last fault healed', async () => {
    const { world, ctx, at, fault } = setup();
    const inv = convergesAfterHealing();
    fault({ kind: 'gateway-down', at: 10_000, durationMs: 60_000, params: { region: 'r2', mode: 'hang' } });
    await at(100_000);
    world.dns.drift('api.r2.example.com/A', 'r1', 100);
    world.dns.drift('api.r2.example.com/A', 'r2', 0);
    expect(inv.check(ctx)).toBeUndefined();
    await at(70_000 + ctx.bounds.convergeMs + 1);
    expect(inv.check(ctx)).toMatch(/api\.r2\.example\.com\/A is \{"r2":0,"r1":100\}, not its nominal/);
  });

  it('promotion-happens (round 2): the main’s databases gone past the bound and no new main', async () => {
    const { ctx, at, fault } = setup();
    const inv = promotionHappens();
    fault({ kind: 'region-outage', at: 10_000, durationMs: 3_600_000, params: { region: 'r1' } });
    await at(10_000 + ctx.bounds.promoteMs - 1);
    expect(inv.check(ctx)).toBeUndefined();
    await at(10_000 + ctx.bounds.promoteMs + 1);
    expect(inv.check(ctx)).toMatch(/r1's databases have failed for \d+s and r2 is healthy/);
  });

  it('every invariant has a unique name and a description', () => {
    const all = allInvariants();
    expect(new Set(all.map((i) => i.name)).size).toBe(all.length);
    for (const i of all) expect(i.description.length).toBeGreaterThan(20);
  });
});

describe('sim invariants: the old main', () => {
  it('auth-away-from-old-main: auth to a region whose databases the hard fence stopped, past the bound', async () => {
    const { world, ctx, at } = setup();
    const inv = authAwayFromOldMain();
    Object.assign(world.databases.node('r2', 'apim'), { role: 'primary', epoch: 1, upstream: undefined });
    Object.assign(world.databases.node('r2', 'shared'), { role: 'primary', epoch: 1, upstream: undefined });
    for (const key of ['apim', 'shared']) {
      const n = world.databases.node('r1', key);
      n.hardFenced = true;
      world.databases.reconcile(n, 0, 'hard fence');
    }
    await at(1_000);
    expect(inv.check(ctx)).toBeUndefined(); // within the bound
    // Not while the only other target has not yet been healthy for the recovery bound: the
    // never-all-zero rule keeps auth where it is until auth can go somewhere.
    expect(ctx.bounds.recoverMs).toBeGreaterThan(
      1_000 + Math.max(ctx.bounds.detectMs, ctx.bounds.dnsRecoveryMs),
    );
    await at(1_000 + Math.max(ctx.bounds.detectMs, ctx.bounds.dnsRecoveryMs) + 1);
    expect(inv.check(ctx)).toBeUndefined();
    await at(1_000 + Math.max(ctx.bounds.detectMs, ctx.bounds.dnsRecoveryMs, ctx.bounds.recoverMs) + 1);
    expect(inv.check(ctx)).toMatch(
      /auth\.example\.com\/A sends auth to r1 \(weight 100\) although r1\.apim \(stopped by the hard fence\)/,
    );
    world.dns.drift('auth.example.com/A', 'r1', 0);
    world.dns.drift('auth.r3.example.com/A', 'r1', 0);
    world.dns.drift('auth.r3.example.com/A', 'r2', 100);
    expect(inv.check(ctx)).toBeUndefined();
    for (const key of ['apim', 'shared']) world.databases.rebuild(world.databases.node('r1', key), ctx.now);
    expect(world.databases.detached()).toEqual([]);
    expect(world.databases.node('r1', 'apim')).toMatchObject({
      role: 'replica',
      upstream: 'r2',
      isRunning: true,
      epoch: 1,
    });
  });
});
