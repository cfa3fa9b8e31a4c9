import { createServer } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { DecideInput } from '../../src/decide/types.js';
import { MemoryDnsProvider } from '../../src/dns/memory.js';
import type { WeightedSet } from '../../src/dns/types.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import type { PersistedState, StateStore } from '../../src/state/types.js';
import { isSwitchyardError, SwitchyardError } from '../../src/util/errors.js';
import { DOWN, type Harness, harnessConfig, startHarness, UP } from '../support/daemon-harness.js';

/**
 * Issue #8's safety rules, on the real daemon in one process under a fake clock (scripted probes,
 * recording promoters, memory DNS and state): each case is exact in time and takes milliseconds.
 */

let h: Harness | undefined;
afterEach(async () => {
  await h?.stop();
  h = undefined;
});

const RECORDS = harnessConfig().records;

/** Live DNS sets for the given weights per record name (what an earlier life of the daemon wrote). */
function liveSets(weights: Record<string, Record<string, number>>): WeightedSet[] {
  const out: WeightedSet[] = [];
  for (const r of RECORDS)
    for (const [region, t] of Object.entries(r.targets))
      out.push({
        recordKey: `${r.name}/A`,
        name: r.name,
        type: 'A',
        region,
        setIdentifier: region,
        weight: weights[r.name]?.[region] ?? 0,
        ttlSeconds: 60,
        values: t.values ?? [],
      });
  return out;
}

/** The weights after r1 was lost and r2 promoted: everything of r1 on r2, management on r2. */
const AFTER_FAILOVER: Record<string, Record<string, number>> = {
  'api.r1.example.com': { r1: 0, r2: 100 },
  'api.r2.example.com': { r2: 100, r1: 0 },
  'api.r3.example.com': { r3: 100, r1: 0, r2: 0 },
  'api.r4.example.com': { r4: 100, r1: 0, r2: 0 },
  'auth.r1.example.com': { r1: 0, r2: 100 },
  'auth.r3.example.com': { r1: 0, r2: 100 },
  'manage.example.com': { r1: 0, r2: 100 },
};

function stateAfterFailover(extra: Partial<PersistedState['engine']> = {}): PersistedState {
  return {
    version: 1,
    engine: {
      epoch: 1,
      main: 'r2',
      out: { r1: ['api'] },
      weights: Object.fromEntries(Object.entries(AFTER_FAILOVER).map(([n, w]) => [`${n}/A`, w])),
      ...extra,
    },
    overrides: { drained: [], frozen: false, routes: {} },
    journal: [],
  };
}

function afterFailoverWorld(h0: Harness): void {
  // r1 is the old main: its database is a primary that no longer replicates; r2 is the main.
  (h0.db.r1 as { role: string; writable: boolean }).role = 'primary';
  (h0.db.r1 as { writable: boolean }).writable = false;
  (h0.db.r2 as { role: string; writable: boolean }).role = 'primary';
  (h0.db.r2 as { writable: boolean }).writable = true;
}

describe('8.1 a restart moves nothing on unknown evidence', () => {
  it('after a failover, a restart writes nothing while every component is unknown', async () => {
    const dns = new MemoryDnsProvider(liveSets(AFTER_FAILOVER));
    h = await startHarness({ state: stateAfterFailover(), dns, start: false });
    afterFailoverWorld(h);
    await h.daemon.start();
    // Before any target has been probed `rise` times, everything is unknown: no write at all.
    await h.advance(900);
    expect(dns.batches).toEqual([]);
    expect(h.weights('auth.r1.example.com')).toEqual({ r1: 0, r2: 100 });
    expect(h.weights('auth.r3.example.com')).toEqual({ r1: 0, r2: 100 });
  });

  it('the demotion of the old main is persisted: auth stays away from r1 after a restart, whatever r1 answers', async () => {
    const dns = new MemoryDnsProvider(liveSets(AFTER_FAILOVER));
    const demoted = { r1: { reason: 'old-main' as const, since: 0, epoch: 1, fenced: true, detail: 'test' } };
    h = await startHarness({ state: stateAfterFailover({ demoted }), dns, start: false });
    afterFailoverWorld(h);
    (h.db.r1 as { reachable: boolean }).reachable = false; // its database does not answer at all
    await h.daemon.start();
    await h.advance(30_000); // long past recoverAfter with r1's key manager healthy
    expect(h.weights('auth.r1.example.com')).toEqual({ r1: 0, r2: 100 });
    expect(h.weights('api.r1.example.com')).toEqual({ r1: 100, r2: 0 }); // api returns: its gateway is healthy
    const s = h.daemon.status();
    expect(s.alerts.map((a) => a.kind)).toContain('rebuild-needed');
  });

  it('the demotion ends on positive evidence only: r1 rebuilt as a streaming replica gets auth back', async () => {
    const dns = new MemoryDnsProvider(liveSets(AFTER_FAILOVER));
    const demoted = { r1: { reason: 'old-main' as const, since: 0, epoch: 1, fenced: true, detail: 'test' } };
    h = await startHarness({ state: stateAfterFailover({ demoted }), dns, start: false });
    afterFailoverWorld(h);
    (h.db.r1 as { role: string }).role = 'replica';
    await h.daemon.start();
    await h.advance(30_000);
    expect(h.weights('auth.r1.example.com')).toEqual({ r1: 100, r2: 0 });
    expect(h.store.peek?.()?.engine.demoted).toBeUndefined();
  });
});

describe('8.1 every fact that keeps a region out survives a restart', () => {
  /** Runs a daemon on `store` and `dns` for `ms`, then stops it (one life of the process). */
  const life = async (
    store: MemoryStateStore,
    dns: MemoryDnsProvider,
    ms: number,
    world?: (h0: Harness) => void,
  ) => {
    const harness = await startHarness({ store, dns, start: false });
    world?.(harness);
    await harness.daemon.start();
    await harness.advance(ms);
    return harness;
  };

  for (const [kind, fenced] of [
    ['old-main', true],
    ['old-main', false],
    ['split-brain', true],
    ['detached', true],
  ] as const)
    it(`a demotion (${kind}${fenced ? ', fenced' : ', not fenced'}): still there and still keeping auth away after a restart`, async () => {
      const demoted = { r1: { reason: kind, since: 0, epoch: 1, fenced, detail: 'test' } };
      const store = new MemoryStateStore(stateAfterFailover({ demoted }));
      const dns = new MemoryDnsProvider(liveSets(AFTER_FAILOVER));
      // r1's database answers as a read-only primary that replicates from nobody (not rebuilt).
      const world = (h0: Harness) => {
        afterFailoverWorld(h0);
        if (!fenced) h0.db.r1!.reachable = false;
      };
      h = await life(store, dns, 30_000, world); // r1's key manager healthy far past recoverAfter
      expect(h.weights('auth.r1.example.com')).toEqual({ r1: 0, r2: 100 });
      expect(store.peek()?.engine.demoted?.r1).toMatchObject({ reason: kind, fenced });
      await h.stop();
      // The restart: nothing moves on no evidence, and once evidence arrives the demotion still holds.
      const writes = dns.batches.length;
      h = await life(store, dns, 900, world);
      expect(dns.batches.length).toBe(writes);
      await h.advance(30_000);
      expect(h.weights('auth.r1.example.com')).toEqual({ r1: 0, r2: 100 });
      expect(h.weights('auth.r3.example.com')).toEqual({ r1: 0, r2: 100 });
      expect(h.weights('manage.example.com')).toEqual({ r1: 0, r2: 100 });
      expect(store.peek()?.engine.demoted?.r1).toMatchObject({ reason: kind, fenced });
      expect(h.daemon.status().alerts.map((a) => a.kind)).toContain(
        fenced ? 'rebuild-needed' : 'old-main-unfenced',
      );
    });

  it('a drain: still in force after a restart, the drained region kept out though healthy', async () => {
    const store = new MemoryStateStore();
    const dns = new MemoryDnsProvider();
    h = await life(store, dns, 5_000);
    await store.save({
      ...(store.peek() as PersistedState),
      overrides: { drained: ['r3'], frozen: false, routes: {} },
    });
    await h.stop();
    h = await life(store, dns, 900);
    await h.advance(30_000);
    expect(h.weights('api.r3.example.com')).toEqual({ r3: 0, r1: 100, r2: 0 });
    expect(store.peek()?.overrides.drained).toEqual(['r3']);
    await h.stop();
    const writes = dns.batches.length;
    h = await life(store, dns, 30_000);
    expect(dns.batches.length).toBe(writes);
    expect(h.weights('api.r3.example.com')).toEqual({ r3: 0, r1: 100, r2: 0 });
  });
});

describe('8.1 live DNS adopted at start never outranks the saved exclusions', () => {
  it('records the state never wrote: a demoted old main Route 53 still serves stays out of auth and management', async () => {
    // The state knows r1 is the demoted old main but has no weights for auth and management (a
    // record added since, or weights pruned); live DNS still shows them on r1.
    const live = {
      ...AFTER_FAILOVER,
      'auth.r1.example.com': { r1: 100, r2: 0 },
      'auth.r3.example.com': { r1: 100, r2: 0 },
      'manage.example.com': { r1: 100, r2: 0 },
    };
    const demoted = { r1: { reason: 'old-main' as const, since: 0, epoch: 1, fenced: true, detail: 'test' } };
    const state = stateAfterFailover({ demoted });
    for (const key of ['auth.r1.example.com/A', 'auth.r3.example.com/A', 'manage.example.com/A'])
      delete state.engine.weights[key];
    const dns = new MemoryDnsProvider(liveSets(live));
    h = await startHarness({ state, dns, start: false });
    afterFailoverWorld(h);
    await h.daemon.start();
    await h.advance(900); // every component still unknown
    for (const name of ['auth.r1.example.com', 'auth.r3.example.com', 'manage.example.com'])
      expect(h.weights(name), name).toEqual({ r1: 0, r2: 100 });
    expect(h.weights('api.r1.example.com')).toEqual({ r1: 0, r2: 100 }); // persisted: untouched
    const saved = h.store.peek?.()?.engine.weights ?? {};
    expect(saved['auth.r1.example.com/A']).toEqual({ r1: 0, r2: 100 });
    // And it holds once evidence arrives (r1 healthy but still demoted).
    await h.advance(20_000);
    expect(h.weights('auth.r1.example.com')).toEqual({ r1: 0, r2: 100 });
    expect(h.weights('manage.example.com')).toEqual({ r1: 0, r2: 100 });
  });
});

/** A store whose saves fail while `full` is set, like a state directory on a full disk. */
class FullDiskStore extends MemoryStateStore {
  full = false;
  override async save(state: PersistedState): Promise<void> {
    if (this.full)
      throw new SwitchyardError(
        'STATE_UNWRITABLE',
        'state file /var/lib/switchyard/state.json cannot be written: ENOSPC',
      );
    return super.save(state);
  }
}

describe('8.2 intent first: nothing is applied that the state cannot record', () => {
  it('a full disk: DNS does not move, the alert is raised everywhere, the save is retried and then applied', async () => {
    const store = new FullDiskStore();
    h = await startHarness({ store });
    await h.advance(5_000);
    expect(h.weights('api.r3.example.com')).toEqual({ r3: 100, r1: 0, r2: 0 });
    store.full = true;
    h.answers.set('r3.gateway.gw3', DOWN);
    await h.advance(10_000); // well past failAfter
    expect(h.weights('api.r3.example.com')).toEqual({ r3: 100, r1: 0, r2: 0 });
    const s = h.daemon.status();
    expect(s.alerts.find((a) => a.kind === 'state-unwritable')?.message).toMatch(/ENOSPC/);
    const metrics = await h.daemon.registry.metrics();
    expect(metrics).toMatch(/^switchyard_state_unwritable 1$/m);
    expect(metrics).toMatch(/^switchyard_alerts_active\{kind="state-unwritable"\} 1$/m);
    expect(s.director.ready).toBe(false);
    // The disk is freed: the next tick saves, and only then does DNS move.
    store.full = false;
    await h.advance(2_000);
    expect(h.weights('api.r3.example.com')).toEqual({ r3: 0, r1: 100, r2: 0 });
    expect(store.peek()?.engine.weights['api.r3.example.com/A']).toEqual({ r3: 0, r1: 100, r2: 0 });
    expect(await h.daemon.registry.metrics()).toMatch(/^switchyard_state_unwritable 0$/m);
  });

  it('DNS is only ever told what a save committed', async () => {
    const store = new MemoryStateStore();
    const dns = new MemoryDnsProvider();
    h = await startHarness({ store, dns });
    await h.advance(5_000);
    h.answers.set('r3.gateway.gw3', DOWN);
    h.answers.set('r1.gateway.gw1', DOWN);
    await h.advance(10_000);
    const saved = store.peek()?.engine.weights ?? {};
    for (const set of dns.snapshot()) expect(saved[set.recordKey]?.[set.region] ?? 0).toBe(set.weight);
  });
});

describe('8.2 intent first: no fence and no promotion while the state cannot be saved', () => {
  const count = (calls: string[], what: string) => calls.filter((c) => c === what).length;

  it('the old main comes back writable on a full disk: not fenced until a save succeeds, then fenced once', async () => {
    const demoted = {
      r1: { reason: 'old-main' as const, since: 0, epoch: 1, fenced: false, detail: 'not fenced' },
    };
    const store = new FullDiskStore(stateAfterFailover({ demoted }));
    h = await startHarness({ store, dns: new MemoryDnsProvider(liveSets(AFTER_FAILOVER)), start: false });
    afterFailoverWorld(h);
    const r1 = h.db.r1!;
    r1.reachable = false;
    await h.daemon.start();
    await h.advance(10_000);
    const before = count(r1.calls, 'fence');
    store.full = true;
    r1.reachable = true;
    r1.writable = true; // a writable database outside the main: the fence is due at once
    await h.advance(10_000);
    expect(count(r1.calls, 'fence'), 'fenced while its intent could not be recorded').toBe(before);
    expect(r1.writable).toBe(true);
    const kinds = h.daemon.status().alerts.map((a) => a.kind);
    expect(kinds).toContain('state-unwritable');
    expect(await h.daemon.registry.metrics()).toMatch(/^switchyard_state_unwritable 1$/m);
    // The disk is freed: the intent is saved, then the fence runs, once.
    store.full = false;
    await h.advance(3_000);
    expect(count(r1.calls, 'fence')).toBe(before + 1);
    expect(r1.writable).toBe(false);
    const journal = store.peek()?.journal ?? [];
    const phases = journal.filter((e) => e.action === 'fence' && e.target === 'r1').map((e) => e.phase);
    expect(phases).toEqual(['intent', 'done']);
    expect(h.daemon.status().alerts.map((a) => a.kind)).not.toContain('state-unwritable');
  });

  it('the main is lost on a full disk: no promotion (and no fence of the old main) until a save succeeds, then one', async () => {
    const store = new FullDiskStore();
    h = await startHarness({ store });
    await h.advance(5_000);
    store.full = true;
    for (const id of ['r1.gateway.gw1', 'r1.keyManager.km1']) h.answers.set(id, DOWN);
    h.db.r1!.reachable = false;
    await h.advance(20_000); // far past failAfter (3 s) + promoteAfter (5 s)
    expect(h.db.r2!.calls).toEqual([]);
    expect(h.db.r1!.calls).toEqual([]);
    expect(h.db.r2!.role).toBe('replica');
    expect(store.peek()?.engine.main).toBe('r1');
    expect(h.weights('manage.example.com')).toEqual({ r1: 100, r2: 0 });
    expect(h.daemon.status().alerts.map((a) => a.kind)).toContain('state-unwritable');
    store.full = false;
    await h.advance(5_000);
    expect(count(h.db.r2!.calls, 'promote')).toBe(1);
    expect(store.peek()?.engine.main).toBe('r2');
    expect(store.peek()?.engine.epoch).toBe(1);
    expect(h.weights('manage.example.com')).toEqual({ r1: 0, r2: 100 });
  });
});

describe('8.3 state that contradicts the configuration is refused', () => {
  const refused = async (
    engine: Partial<PersistedState['engine']>,
    field: RegExp,
    overrides: Partial<PersistedState['overrides']> = {},
  ) => {
    const dns = new MemoryDnsProvider(liveSets(AFTER_FAILOVER));
    const state = stateAfterFailover(engine);
    Object.assign(state.overrides, overrides);
    const harness = await startHarness({ state, dns, start: false });
    const err = await harness.daemon.start().catch((e: unknown) => e);
    expect(isSwitchyardError(err, 'STATE_CORRUPT'), String(err)).toBe(true);
    expect((err as SwitchyardError).message).toMatch(field);
    await harness.advance(5_000);
    expect(harness.runs).toEqual([]); // nothing probed,
    expect(dns.batches).toEqual([]); // nothing written,
    expect([...harness.db.r1!.calls, ...harness.db.r2!.calls]).toEqual([]); // nothing fenced or promoted
  };
  it('main is an edge region', () => refused({ main: 'r3' }, /engine\.main: "r3" is an edge region/));
  it('main is not the configured main at epoch 0', () =>
    refused({ main: 'r2', epoch: 0 }, /engine\.epoch: 0 with main "r2"/));
  it('a promotion whose epoch is not the state epoch', () =>
    refused(
      { promotion: { to: 'r2', from: 'r1', epoch: 7, startedAt: 0, force: false } },
      /engine\.promotion\.epoch: 7/,
    ));
  it('overrides naming a region or record the configuration does not have', async () => {
    await refused({}, /overrides\.drained\[0\]: "r9" is not a region/, { drained: ['r9'] });
    await refused({}, /overrides\.routes\["nope\.example\.com"\]: no such record/, {
      routes: { 'nope.example.com': 'r1' },
    });
  });
});

describe('8.7 wall-clock steps move nothing', () => {
  it('a +10 min step after 2 s of downtime does not end the hold-down; a −20 s step does not stop probing', async () => {
    h = await startHarness();
    await h.advance(5_000);
    h.answers.set('r3.gateway.gw3', DOWN);
    await h.advance(2_000); // down (fall 2) for about a second; failAfter is 3 s
    h.clock.stepWall(10 * 60_000);
    await h.advance(500);
    expect(h.weights('api.r3.example.com').r3).toBe(100);
    h.clock.stepWall(-20 * 60_000 - 20_000);
    const before = h.runs.length;
    await h.advance(4_000);
    expect(h.runs.length - before).toBeGreaterThanOrEqual(4 * 8); // eight targets, each every second
    expect(h.weights('api.r3.example.com')).toEqual({ r3: 0, r1: 100, r2: 0 }); // now on monotonic time
    expect(
      h.daemon
        .status()
        .regions.find((r) => r.id === 'r1')
        ?.components.every((c) => c.status === 'up'),
    ).toBe(true);
  });
});

describe('8.7 wall-clock steps change nothing but the labels', () => {
  /**
   * One scripted incident, run twice on the fake clock: once as is, once with the wall clock
   * stepped back and forth by minutes to hours throughout. Hold-downs (failAfter, recoverAfter),
   * staleness, promoteAfter, the fence retry backoff and the DNS retry backoff all run on it; every
   * DNS write and database action must happen at the same monotonic instant in both runs.
   */
  const WALL_STEPS: Record<number, number> = {
    6000: 10 * 60_000,
    9500: -20 * 60_000,
    13000: 3_600_000,
    21000: -2 * 3_600_000,
    33000: 5 * 60_000,
    41000: -30 * 60_000,
    52000: 45 * 60_000,
  };

  async function incident(steps: boolean) {
    const store = new MemoryStateStore();
    const dns = new MemoryDnsProvider();
    const run = await startHarness({ store, dns });
    const trace: string[] = [];
    let last = '';
    const r1db = run.db.r1!;
    for (let t = 0; t <= 80_000; t += 100) {
      if (steps && WALL_STEPS[t] !== undefined) run.clock.stepWall(WALL_STEPS[t] as number);
      if (t === 5_000) {
        run.answers.set('r3.gateway.gw3', DOWN); // api.r3 leaves after fall + failAfter…
        const busy = () => new SwitchyardError('DNS_UNAVAILABLE', 'scripted outage');
        dns.failNext(busy(), busy(), busy()); // …and its write is retried with backoff
      }
      if (t === 8_000) {
        // The main is lost: api and auth leave at failAfter; r2 is promoted at promoteAfter.
        for (const id of ['r1.gateway.gw1', 'r1.keyManager.km1']) run.answers.set(id, DOWN);
        r1db.reachable = false;
      }
      if (t === 25_000) run.answers.delete('r3.gateway.gw3'); // back after recoverAfter
      if (t === 40_000) {
        // The old main answers writable, but its fence fails: retried with backoff.
        run.answers.set('r1.database.apim', { ok: true, role: 'primary', writable: true });
        for (const id of ['r1.gateway.gw1', 'r1.keyManager.km1']) run.answers.delete(id);
      }
      if (t === 60_000) {
        r1db.reachable = true; // now the fence succeeds (at its next retry)
        run.answers.delete('r1.database.apim');
      }
      await run.advance(100);
      const now = JSON.stringify([
        dns.snapshot().map((x) => [x.name, x.region, x.weight]),
        r1db.calls,
        run.db.r2!.calls,
        store.peek()?.engine.main,
        // Staleness shows here: a component whose evidence went stale is unknown (no-evidence).
        run.daemon
          .status()
          .regions.map((r) => `${r.id}:${r.components.map((c) => c.status).join(',')}`)
          .join(' '),
        run.daemon
          .status()
          .alerts.map((a) => a.kind)
          .sort(),
      ]);
      if (now !== last) trace.push(`${run.clock.monotonic()} ${now}`);
      last = now;
    }
    const journal = store.peek()?.journal ?? [];
    await run.stop();
    return { trace, journal, state: store.peek() };
  }

  it('every DNS write, fence and promotion happens at the same monotonic instant with or without the steps', async () => {
    const plain = await incident(false);
    const stepped = await incident(true);
    expect(stepped.trace).toEqual(plain.trace);
    // The incident did exercise each mechanism.
    const end = JSON.parse(plain.trace.at(-1)!.split(' ').slice(1).join(' ')) as [
      unknown,
      string[],
      string[],
      string,
    ];
    expect(end[2]).toContain('promote');
    expect(end[1].filter((c) => c === 'fence').length).toBe(5); // at the promotion; 3 failures 5 s, 10 s apart; done 20 s later
    expect(end[3]).toBe('r2');
    expect(plain.journal.some((e) => e.action === 'fence' && e.target === 'r1' && e.phase === 'done')).toBe(
      true,
    );
    expect(plain.trace.length).toBeGreaterThan(6);
    // Persisted times are wall labels: the stepped run's journal carries the stepped wall times,
    // entry for entry the same actions.
    expect(stepped.journal.map((e) => [e.action, e.target, e.phase])).toEqual(
      plain.journal.map((e) => [e.action, e.target, e.phase]),
    );
    expect(stepped.journal.map((e) => e.at)).not.toEqual(plain.journal.map((e) => e.at));
  });

  it('persisted wall labels from another wall clock are only labels at start: a pending promotion resumes at once', async () => {
    for (const startedAt of [Date.UTC(2030, 0, 1), Date.UTC(2001, 0, 1)]) {
      const state = stateAfterFailover({
        main: 'r1',
        epoch: 1,
        promotion: { to: 'r2', from: 'r1', epoch: 1, startedAt, force: false },
      });
      state.engine.out = { r1: ['api', 'auth'] };
      const harness = await startHarness({ state, start: false });
      harness.db.r1!.reachable = false;
      await harness.daemon.start();
      await harness.advance(3_000);
      expect(harness.db.r2!.calls, new Date(startedAt).toISOString()).toContain('promote');
      expect(harness.store.peek?.()?.engine.main).toBe('r2');
      await harness.stop();
    }
  });
});

describe('8.12 a writable database outside the main is fenced on the first probe that sees it', () => {
  it('the old main comes back writable: fenced before its second probe', async () => {
    const demoted = {
      r1: { reason: 'old-main' as const, since: 0, epoch: 1, fenced: false, detail: 'not fenced' },
    };
    h = await startHarness({
      state: stateAfterFailover({ demoted }),
      dns: new MemoryDnsProvider(liveSets(AFTER_FAILOVER)),
      start: false,
    });
    afterFailoverWorld(h);
    const r1 = h.db.r1!;
    r1.reachable = false;
    await h.daemon.start();
    await h.advance(10_000);
    expect(h.daemon.status().alerts.map((a) => a.kind)).toContain('old-main-unfenced');
    // The crashed old primary restarts writable.
    r1.reachable = true;
    r1.writable = true;
    const from = h.runs.length;
    await h.advance(3_000);
    const r1Runs = h.runs.slice(from).filter((r) => r.id === 'r1.database.apim');
    expect(r1.calls).toContain('fence');
    expect(r1.writable).toBe(false);
    // Fenced after the first probe that saw it writable, not after rise (2) of them.
    const fencedBefore = r1Runs.length;
    expect(fencedBefore).toBeGreaterThanOrEqual(1);
    const journal = h.store.peek?.()?.journal ?? [];
    const fence = journal.find((e) => e.action === 'fence' && e.target === 'r1' && e.phase === 'done');
    expect(fence).toBeDefined();
    expect(h.store.peek?.()?.engine.demoted?.r1?.fenced).toBe(true);
    const alerts = h.daemon.status().alerts.map((a) => a.kind);
    expect(alerts).not.toContain('old-main-unfenced');
    expect(alerts).toContain('rebuild-needed');
  });

  it('exactly: the fence runs between the first and the second probe of the writable database', async () => {
    h = await startHarness({
      state: stateAfterFailover(),
      dns: new MemoryDnsProvider(liveSets(AFTER_FAILOVER)),
      start: false,
    });
    afterFailoverWorld(h);
    const r1 = h.db.r1!;
    r1.reachable = false;
    await h.daemon.start();
    await h.advance(5_000);
    r1.reachable = true;
    r1.writable = true;
    const probeCount = () => h!.runs.filter((x) => x.id === 'r1.database.apim').length;
    const start = probeCount();
    for (let i = 0; i < 40 && !r1.calls.includes('fence'); i++) await h.advance(100);
    expect(r1.calls).toContain('fence');
    expect(probeCount() - start).toBe(1);
  });
});

describe('8.14 lasting conditions are lasting alerts', () => {
  it('no replica for the main, and a main whose database is read-only', async () => {
    const demoted = {
      r1: { reason: 'old-main' as const, since: 0, epoch: 1, fenced: true, detail: 'fenced' },
    };
    h = await startHarness({
      state: stateAfterFailover({ demoted }),
      dns: new MemoryDnsProvider(liveSets(AFTER_FAILOVER)),
      start: false,
    });
    afterFailoverWorld(h);
    await h.daemon.start();
    await h.advance(5_000);
    let kinds = h.daemon.status().alerts.map((a) => a.kind);
    expect(kinds).toContain('no-replica'); // r1 is fenced and not rebuilt: r2 has no replica anywhere
    expect(kinds).not.toContain('main-read-only');
    (h.db.r2 as { writable: boolean }).writable = false; // management points at a read-only main
    await h.advance(3_000);
    kinds = h.daemon.status().alerts.map((a) => a.kind);
    expect(kinds).toContain('main-read-only');
    const metrics = await h.daemon.registry.metrics();
    expect(metrics).toMatch(/^switchyard_alerts_active\{kind="main-read-only"\} 1$/m);
    expect(metrics).toMatch(/^switchyard_alerts_active\{kind="no-replica"\} 1$/m);
    // The conditions end: the alerts end.
    (h.db.r2 as { writable: boolean }).writable = true;
    (h.db.r1 as { role: string }).role = 'replica';
    await h.advance(3_000);
    kinds = h.daemon.status().alerts.map((a) => a.kind);
    expect(kinds).not.toContain('main-read-only');
    expect(kinds).not.toContain('no-replica');
  });
});

describe('8.10, 8.11 start and readiness', () => {
  it('a taken port: start fails with LISTEN_FAILED and nothing is left running', async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    try {
      const harness = await startHarness({ start: false, daemon: { listen: `127.0.0.1:${port}` } });
      const err = await harness.daemon.start().catch((e: unknown) => e);
      expect(isSwitchyardError(err, 'LISTEN_FAILED'), String(err)).toBe(true);
      expect((err as Error).message).toMatch(/EADDRINUSE.*--listen/);
      await harness.advance(5_000);
      expect(harness.runs).toEqual([]);
      expect(harness.clock.pending()).toBe(0); // no timer of any loop survives
    } finally {
      taken.close();
    }
  });

  it('switchyard_ready follows /readyz', async () => {
    h = await startHarness({ start: false });
    expect(await h.daemon.registry.metrics()).toMatch(/^switchyard_ready 0$/m);
    await h.daemon.start();
    await h.advance(5_000);
    expect(h.daemon.status().director.ready).toBe(true);
    expect(await h.daemon.registry.metrics()).toMatch(/^switchyard_ready 1$/m);
  });
});

describe('8.15 an error in a health listener is logged and counted, and decisions go on', () => {
  it('the listener that logs a health change throws: the error is in the log and the metric; traffic still moves', async () => {
    const lines: string[] = [];
    // The daemon's health listener logs each change; its log sink breaks on "down" changes.
    const logger = pino(
      { level: 'info' },
      {
        write(line: string) {
          if (line.includes('"event":"health"') && line.includes('"to":"down"'))
            throw new Error('log sink broke');
          lines.push(line);
        },
      },
    );
    h = await startHarness({ daemon: { logger } });
    await h.advance(5_000);
    h.answers.set('r3.gateway.gw3', DOWN);
    await h.advance(6_000); // fall (2) and failAfter (3 s) on 1 s ticks
    expect(h.weights('api.r3.example.com')).toEqual({ r3: 0, r1: 100, r2: 0 });
    const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const err = logged.find((l) => l.event === 'error' && l.msg === 'health listener failed');
    expect(err, 'the listener error is logged').toBeDefined();
    expect((err?.err as { message?: string })?.message).toBe('log sink broke');
    expect(await h.daemon.registry.metrics()).toMatch(
      /^switchyard_errors_total\{kind="internal"\} [1-9]\d*$/m,
    );
  });
});

describe('the engine input the daemon builds', () => {
  it('carries monotonic now and wall time separately', async () => {
    h = await startHarness();
    h.clock.stepWall(3_600_000);
    const input: DecideInput = h.daemon.input();
    expect(input.wall - input.now).toBeGreaterThan(3_600_000);
    expect(input.now).toBe(h.clock.monotonic());
    void UP;
    void ({} as StateStore);
  });
});
