import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../../src/server/status.js';
import type { JournalEntry } from '../../src/state/types.js';
import { waitFor } from '../support/daemon-process.js';
import { homeWeights } from '../support/e2e-config.js';
import { MULTI_TOKEN, MultiWorld, type Observer } from '../support/multi-world.js';
import { pgWaitReplayed } from '../support/pg-cluster.js';
import { runCliInProcess } from '../support/run-cli.js';

/**
 * Issue #10, as it runs in production: three switchyard instances (child processes of the real
 * CLI, one each in r2, r3 and r4) on a real three-member etcd cluster, each reaching every region
 * through TCP proxies of its own, writing the Route 53 emulator through the real AWS SDK, with a
 * real PostgreSQL pair (r1 primary, r2 standby). The cases run in order on one world; after them,
 * the invariants are checked over everything that was written.
 */
const PREFIX = '/sy-multi/';
let w: MultiWorld;

beforeAll(async () => {
  w = await MultiWorld.start({
    name: 'multi',
    // A slow hard fence on r1's database: the failover case kills the leader inside it.
    r1HardFence: { command: ['sleep', '4'], timeout: '10s' as unknown as number },
  });
  await w.waitAllUp();
}, 120_000);

afterAll(async () => {
  await w?.stop();
});

const API_R1 = 'api.r1.example.com/A';
const API_R3 = 'api.r3.example.com/A';
const API_R4 = 'api.r4.example.com/A';
const AUTH_R1 = 'auth.r1.example.com/A';
const MANAGE = 'manage.example.com/A';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const journal = async (): Promise<JournalEntry[]> => (await w.state(PREFIX)).journal;
const observerView = (s: StatusDocument, id: string) => s.observers.find((o) => o.id === id)?.view;

/** Milliseconds since the epoch of the first log event of `event` after `after`. */
function eventTime(o: Observer, event: string, after = 0): number | undefined {
  for (const e of o.daemon.events()) {
    const t = Date.parse(String(e.time));
    if (e.event === event && t >= after) return t;
  }
  return undefined;
}

describe('three instances on etcd', () => {
  it('exactly one leads; every instance knows the leader and the three observers; DNS is left as it is', async () => {
    const leader = await w.waitLeader();
    for (const o of w.observers) {
      const s = await o.status();
      expect(s.leader?.id).toBe(leader.id);
      expect(s.director.role).toBe(o === leader ? 'leader' : 'follower');
      expect(s.observers.map((x) => x.id).sort()).toEqual(['sy-r2', 'sy-r3', 'sy-r4']);
      expect(s.coordination.observerRegions).toBe(3);
    }
    const metrics = (await leader.daemon.get('/metrics')).body;
    expect(metrics).toMatch(/^switchyard_leader 1$/m);
    expect(metrics).toMatch(/^switchyard_observer_regions 3$/m);
    expect(metrics).toMatch(/^switchyard_leader_lease_remaining_seconds [1-9]/m);
    // `switchyard status` against a follower: the leader, its lease, and every observer's view.
    const follower = w.observers.find((o) => o !== leader) as Observer;
    const text = await runCliInProcess(['status'], { env: { SWITCHYARD_ADDR: follower.daemon.addr } });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      new RegExp(
        `coordination: follower; leader ${leader.id} \\(${leader.region}\\); quorum 2 of 3 live observers in 3 region`,
      ),
    );
    expect(text.stdout).toMatch(/observer\s+region\s+counted\s+r1\.database\.apim/);
    for (const o of w.observers)
      expect(text.stdout).toMatch(new RegExp(`${o.id}\\s+${o.region}\\s+(yes|stale)\\s`));
    // The zone already held what an all-healthy engine wants: nobody wrote anything.
    expect(w.emu.batches).toEqual([]);
    expect(w.weights(API_R1)).toEqual(homeWeights()[API_R1]);
  });

  it('a planned switchover asked of a follower is run by the leader and answered through the state', async () => {
    const leader = await w.waitLeader();
    const follower = w.observers.find((o) => o !== leader) as Observer;
    const post = async (to: string) => {
      const r = await fetch(`http://${follower.daemon.adminAddr}/v1/admin/switchover`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MULTI_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ to, dryRun: false, reason: 'test: through a follower' }),
        signal: AbortSignal.timeout(30_000),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    // The leader refuses an edge region; the follower relays its refusal, status and message.
    const edge = await post('r3');
    expect(edge.status, JSON.stringify(edge.body)).toBe(400);
    expect((edge.body.error as { message: string }).message).toMatch(
      /"r3" has no databases to promote; switch over/,
    );
    // The current main: "already so", answered by the leader.
    const same = await post('r1');
    expect(same.status, JSON.stringify(same.body)).toBe(200);
    expect(same.body.outcome).toBe('already');
    const j = await journal();
    expect(j.filter((e) => e.action === 'override' && /through this instance/.test(e.detail)).length).toBe(2);
    const state = await w.state(PREFIX);
    expect(state.requests?.switchover).toBeUndefined();
    expect(state.answers?.switchover?.result?.outcome).toBe('already');
  });

  it("one observer's links to r1 are cut: it is outvoted, nothing moves, and it shows what it sees", async () => {
    const leader = await w.waitLeader();
    const cut = w.observers.find((o) => o !== leader) as Observer;
    const before = w.emu.batches.length;
    cut.cutRegion('r1');
    try {
      await waitFor(
        async () => observerView(await cut.status(), cut.id)?.r1?.gateway === 'down',
        10_000,
        `${cut.id} sees r1 down`,
      );
      await sleep(3_000); // well past failAfter (1 s) with the other two seeing r1 up
      expect(w.emu.batches.length).toBe(before);
      for (const o of w.observers) {
        const s = await o.status();
        const gw = s.regions.find((r) => r.id === 'r1')?.components.find((c) => c.name === 'gateway');
        expect(gw?.status).toBe('up'); // the quorum's view
        expect(gw?.observers?.[cut.id]).toBe('down'); // beside each observer's
        expect(observerView(s, cut.id)?.r1?.gateway).toBe('down');
      }
    } finally {
      cut.restoreRegion('r1');
    }
    await waitFor(
      async () => observerView(await cut.status(), cut.id)?.r1?.gateway === 'up',
      10_000,
      'r1 seen up again',
    );
  });

  it('the leader is cut from etcd but not from the regions: it stops acting before its lease can expire; the new leader acts; the old one never writes again', async () => {
    const old = await w.waitLeader();
    const cutAt = Date.now();
    old.cutEtcd();
    try {
      const next = await w.waitLeader(20_000, old);
      // The new leader's first act is to begin its epoch; the old one logged its step-down.
      await waitFor(
        () => eventTime(next, 'lead', cutAt) !== undefined,
        10_000,
        `${next.id} begins its epoch`,
      );
      await waitFor(() => eventTime(old, 'leader-lost', cutAt) !== undefined, 10_000, `${old.id} steps down`);
      const lostAt = eventTime(old, 'leader-lost', cutAt);
      // The moment it took the leader key (the 'leader' event), not when it first acted.
      const leadAt = eventTime(next, 'leader', cutAt);
      // Stepped down on its own clock before the key could expire and be taken elsewhere.
      expect(lostAt as number).toBeLessThan(leadAt as number);
      expect((leadAt as number) - cutAt).toBeLessThan(3_000 + 1_500); // lease TTL + 1 s (+ process slack)
      expect((await old.status()).director.role).not.toBe('leader');
      // A change now: only the new leader writes it.
      await w.gw.r4.stop();
      await waitFor(() => w.weights(API_R4).r4 === 0, 15_000, 'api.r4 moved by the new leader');
      const mine = w.writes().filter((x) => x.at >= (lostAt as number));
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.every((x) => x.by === next.id)).toBe(true);
      await w.gw.r4.start();
      await waitFor(() => w.weights(API_R4).r4 === 100, 20_000, 'api.r4 back at home');
      expect(w.writes().filter((x) => x.at >= (lostAt as number) && x.by === old.id)).toEqual([]);
    } finally {
      old.restoreEtcd();
    }
    await waitFor(
      async () => (await old.status()).director.role === 'follower',
      20_000,
      'the old leader follows',
    );
  });

  it('etcd loses its quorum: nobody acts and every instance says so; quorum back: one leader, the change applied once', async () => {
    await w.waitLeader();
    await w.etcd.stopMember(1);
    await w.etcd.stopMember(2);
    try {
      await waitFor(
        async () => {
          for (const o of w.observers) {
            const s = await o.status();
            if (s.leader?.self || !s.alerts.some((a) => a.kind === 'coordination-unavailable')) return false;
          }
          return true;
        },
        20_000,
        'every instance without etcd',
      );
      const before = w.emu.batches.length;
      await w.gw.r3.stop();
      await sleep(4_000);
      expect(w.emu.batches.length).toBe(before); // nobody acts
      for (const o of w.observers) expect((await o.status()).director.role).toBe('unavailable');
    } finally {
      await w.etcd.startMember(1);
      await w.etcd.startMember(2);
    }
    await w.waitLeader(30_000);
    await waitFor(() => w.weights(API_R3).r3 === 0, 20_000, 'api.r3 moved once etcd is back');
    const moves = w.writes().filter((x) => x.sets.some((s) => s.startsWith('api.r3.example.com/r3=0')));
    expect(moves.length).toBe(1);
    // Written by the instance that led that epoch (leadership may change hands again while the
    // freshly healed cluster settles, so "the leader now" is not the question).
    const leads = (await journal()).filter((e) => e.action === 'lead' && e.epoch === moves[0]?.epoch);
    expect(leads.map((e) => e.by)).toEqual([`director:${moves[0]?.by}`]);
    await w.gw.r3.start();
    await waitFor(() => w.weights(API_R3).r3 === 100, 20_000, 'api.r3 back at home');
  });

  it('r1 really fails and the leader is killed inside the failover: another instance completes it; r2 takes writes; management follows', async () => {
    const first = await w.waitLeader();
    await w.pg.primary.appQuery('CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY)');
    await w.pg.primary.appQuery('INSERT INTO orders VALUES (1) ON CONFLICT DO NOTHING');
    await pgWaitReplayed(w.pg);
    await Promise.all([w.gw.r1.stop(), w.km.r1.stop(), w.pg.killPrimary()]);
    // api and auth leave r1 first (failAfter), then the promotion's intent is recorded.
    await waitFor(
      () => w.weights(API_R1).r1 === 0 && w.weights(AUTH_R1).r1 === 0,
      20_000,
      'api and auth off r1',
    );
    await waitFor(
      async () => (await journal()).some((e) => e.action === 'promote' && e.phase === 'intent'),
      20_000,
      'the promotion intent',
    );
    // The leader is inside the old main's 4 s hard fence: kill it there.
    first.daemon.signal('SIGKILL');
    const next = await w.waitLeader(20_000, first);
    await waitFor(() => w.weights(MANAGE).r2 === 100, 30_000, 'management on r2');
    expect(w.weights(MANAGE)).toEqual({ r1: 0, r2: 100 });
    await waitFor(
      async () => {
        try {
          await w.pg.standby.appQuery('INSERT INTO orders VALUES (2)');
          return true;
        } catch {
          return false;
        }
      },
      10_000,
      'r2 takes writes',
    );
    const j = await journal();
    const done = j.filter((e) => e.action === 'promote' && e.phase === 'done');
    expect(done.length).toBe(1); // completed once, by the new leader
    expect(done[0]?.target).toBe('r2');
    expect(done[0]?.by).toBe(`director:${next.id}`);
    const s = await next.status();
    expect(s.main).toBe('r2');
    expect(s.regions.find((r) => r.id === 'r1')?.currentRole).toBe('fenced-old-main');
    // The killed instance's view expires with its lease: two regions observe now, and /readyz says
    // that automatic promotion would wait for an operator (rule 6).
    await waitFor(
      async () =>
        /observers in 2 region\(s\): automatic promotion needs three/.test(
          (await next.daemon.get('/readyz')).body,
        ),
      15_000,
      '/readyz names rule 6',
    );
  });

  it('across every case: one writer per epoch, epochs only grow, no record set ever all-zero', async () => {
    const writes = w.writes();
    expect(writes.length).toBeGreaterThan(0);
    const byEpoch = new Map<number, Set<string>>();
    let last = -1;
    for (const x of writes) {
      expect(x.epoch).toBeGreaterThanOrEqual(last);
      last = x.epoch;
      byEpoch.set(x.epoch, (byEpoch.get(x.epoch) ?? new Set()).add(x.by));
    }
    for (const [epoch, writers] of byEpoch)
      expect([epoch, [...writers]]).toEqual([epoch, [...writers].slice(0, 1)]);
    // The journal agrees: every action started in an epoch (its intent, or the lead itself) is
    // by that epoch's leader. (An `abandoned` entry is a later leader's bookkeeping of an older intent.)
    const j = await journal();
    const actors = new Map<number, Set<string>>();
    for (const e of j.filter(
      (x) => x.by?.startsWith('director:') && (x.phase === 'intent' || x.action === 'lead'),
    ))
      actors.set(e.epoch, (actors.get(e.epoch) ?? new Set()).add(e.by as string));
    for (const [epoch, who] of actors)
      expect(
        [epoch, [...who]],
        JSON.stringify(j.map((e) => [e.epoch, e.action, e.target, e.phase, e.by])),
      ).toEqual([epoch, [...who].slice(0, 1)]);
    // Replay every batch on the seeded zone: no record set is ever left all-zero.
    const zone = new Map<string, Map<string, number>>();
    for (const [key, ws] of Object.entries(homeWeights()))
      zone.set(key.replace(/\/A$/, ''), new Map(Object.entries(ws)));
    for (const b of w.emu.batches) {
      for (const c of b.changes) {
        const name = c.set.name.replace(/\.$/, '');
        zone.get(name)?.set(c.set.setIdentifier ?? '', c.set.weight ?? 0);
      }
      for (const [name, ws] of zone)
        expect([name, [...ws.values()].some((v) => v > 0)]).toEqual([name, true]);
    }
  });
});
