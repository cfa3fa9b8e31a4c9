import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createDatabaseMetrics } from '../../src/database/metrics.js';
import { fenceRegion, promoteRegion } from '../../src/database/region.js';
import { switchoverRegion } from '../../src/database/switchover.js';
import type { DbFailure, Promoter } from '../../src/database/types.js';

/** A scripted promoter that records the calls it gets. */
function fake(
  name: string,
  calls: string[],
  o: {
    promote?: DbFailure;
    fence?: DbFailure;
    catchUp?: DbFailure;
    role?: 'primary' | 'replica';
    delayMs?: number;
    throws?: boolean;
    lag?: { seconds: number | null; bytes: number | null };
  } = {},
): Promoter {
  const wait = () => new Promise((r) => setTimeout(r, o.delayMs ?? 0));
  return {
    engine: 'postgres',
    label: name,
    async status() {
      calls.push(`${name}.status`);
      return {
        engine: 'postgres',
        reachable: true,
        role: o.role ?? 'replica',
        lagSeconds: o.lag ? o.lag.seconds : 0,
        lagBytes: o.lag ? o.lag.bytes : 0,
        detail: '',
      };
    },
    async fence() {
      calls.push(`${name}.fence`);
      await wait();
      return o.fence
        ? { ok: false, sqlFenced: false, sessionsTerminated: 0, durationMs: 1, error: o.fence }
        : { ok: true, sqlFenced: true, sessionsTerminated: 2, position: '0/10', durationMs: 1 };
    },
    async promote() {
      calls.push(`${name}.promote`);
      await wait();
      if (o.throws) throw new Error('implementation bug');
      return o.promote
        ? { ok: false, alreadyPrimary: false, verified: false, durationMs: 1, error: o.promote }
        : {
            ok: true,
            alreadyPrimary: false,
            verified: true,
            durationMs: 1,
            lagAtPromotion: { seconds: 0.5, bytes: 10 },
          };
    },
    async catchUp() {
      calls.push(`${name}.catchUp`);
      return o.catchUp
        ? { ok: false, waitedMs: 1, error: o.catchUp }
        : { ok: true, waitedMs: 1, position: '0/10' };
    },
    async unfence() {
      calls.push(`${name}.unfence`);
      return { ok: true, durationMs: 1 };
    },
  };
}

const refused: DbFailure = { code: 'PROMOTION_FAILED', reason: 'refused', message: 'connect ECONNREFUSED' };

describe('promoteRegion', () => {
  it('is done only when every database is promoted; works on them in parallel', async () => {
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const counted = (p: Promoter): Promoter => ({
      ...p,
      async promote(o) {
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        try {
          return await p.promote(o);
        } finally {
          inFlight--;
        }
      },
    });
    const r = await promoteRegion(
      new Map([
        ['apim', counted(fake('a', calls, { delayMs: 20 }))],
        ['shared', counted(fake('s', calls, { delayMs: 20 }))],
      ]),
      4,
    );
    expect(maxInFlight).toBe(2);
    expect(r).toMatchObject({ ok: true, done: true, epoch: 4, succeeded: ['apim', 'shared'], failed: [] });
  });

  it('a partial failure lists what succeeded and what failed, and is not done', async () => {
    const calls: string[] = [];
    const r = await promoteRegion(
      new Map([
        ['apim', fake('a', calls)],
        ['shared', fake('s', calls, { promote: refused })],
        ['broken', fake('b', calls, { throws: true })],
      ]),
      4,
    );
    expect(r).toMatchObject({ ok: false, done: false, succeeded: ['apim'] });
    expect(r.failed.map((f) => [f.key, f.error.reason])).toEqual([
      ['shared', 'refused'],
      ['broken', 'error'],
    ]);
  });

  it('with an RPO bound, one replica beyond it keeps the whole region unpromoted; within it, the bound reaches each promoter', async () => {
    const calls: string[] = [];
    const bound = { seconds: 30, bytes: 1_000_000 };
    const r = await promoteRegion(
      new Map([
        ['apim', fake('a', calls, { lag: { seconds: 0, bytes: 0 } })],
        ['shared', fake('s', calls, { lag: { seconds: 45, bytes: 2_000_000 } })],
        ['unknown', fake('u', calls, { lag: { seconds: null, bytes: null } })],
      ]),
      4,
      { maxLag: bound },
    );
    expect(calls.filter((c) => c.endsWith('.promote'))).toEqual([]);
    expect(r).toMatchObject({ ok: false, done: false, succeeded: [] });
    expect(r.failed.map((f) => [f.key, f.error.reason])).toEqual([
      ['apim', 'beyond-rpo'],
      ['shared', 'beyond-rpo'],
      ['unknown', 'beyond-rpo'],
    ]);
    const why = Object.fromEntries(r.failed.map((f) => [f.key, f.error.message]));
    expect(why.shared).toMatch(/45s behind \(bound 30s\), 2000000 bytes behind \(bound 1000000\)/);
    // A lag the server cannot tell is the engine's to judge (on the probes, before the intent).
    expect(why.unknown).toMatch(/shared of the same region is beyond the RPO bound/);
    expect(why.apim).toMatch(/shared of the same region is beyond the RPO bound/);

    const seen: unknown[] = [];
    const within = fake('w', calls, { lag: { seconds: 1, bytes: 100 } });
    const promote = within.promote.bind(within);
    within.promote = (opts) => {
      seen.push(opts.maxLag);
      return promote(opts);
    };
    const ok = await promoteRegion(new Map([['apim', within]]), 5, { maxLag: bound });
    expect(ok).toMatchObject({ ok: true, succeeded: ['apim'] });
    expect(seen).toEqual([bound]);
  });

  it('fenceRegion reports each database', async () => {
    const calls: string[] = [];
    const r = await fenceRegion(
      new Map([
        ['apim', fake('a', calls)],
        ['shared', fake('s', calls, { fence: { ...refused, code: 'FENCE_FAILED' } })],
      ]),
    );
    expect(r).toMatchObject({ ok: false, succeeded: ['apim'], failed: [{ key: 'shared' }] });
  });
});

describe('switchoverRegion', () => {
  const pairs = (
    calls: string[],
    target2: Parameters<typeof fake>[2] = {},
    from2: Parameters<typeof fake>[2] = {},
  ) =>
    new Map([
      ['apim', { from: fake('old1', calls), to: fake('new1', calls) }],
      ['shared', { from: fake('old2', calls, from2), to: fake('new2', calls, target2) }],
    ]);

  it('fences all, catches up all, promotes all', async () => {
    const calls: string[] = [];
    const r = await switchoverRegion(pairs(calls), { epoch: 9, catchUpTimeoutMs: 1000 });
    expect(r).toMatchObject({ ok: true, stage: 'done', failed: [] });
    expect(calls.indexOf('new1.promote')).toBeGreaterThan(calls.indexOf('new2.catchUp'));
    expect(calls).not.toContain('old1.unfence');
    expect(r.results.apim?.timings.totalMs).toBeGreaterThanOrEqual(0);
  });

  it('does not fence anything when a target is not a replica', async () => {
    const calls: string[] = [];
    const r = await switchoverRegion(pairs(calls, { role: 'primary' }), { epoch: 9, catchUpTimeoutMs: 1000 });
    expect(r).toMatchObject({ ok: false, stage: 'precheck' });
    expect(calls.filter((c) => c.endsWith('.fence'))).toEqual([]);
  });

  it('one target failing to catch up aborts the region: nothing promoted, every fence reverted', async () => {
    const calls: string[] = [];
    const r = await switchoverRegion(
      pairs(calls, { catchUp: { code: 'CATCHUP_FAILED', reason: 'not-caught-up', message: 'short' } }),
      { epoch: 9, catchUpTimeoutMs: 1000 },
    );
    expect(r).toMatchObject({ ok: false, stage: 'catch-up' });
    expect(calls.filter((c) => c.endsWith('.promote'))).toEqual([]);
    expect(calls).toEqual(expect.arrayContaining(['old1.unfence', 'old2.unfence']));
    expect(r.failed.map((f) => f.key).sort()).toEqual(['apim', 'shared']);
  });

  it('a failed fence aborts and unfences the ones that were fenced', async () => {
    const calls: string[] = [];
    const r = await switchoverRegion(pairs(calls, {}, { fence: { ...refused, code: 'FENCE_FAILED' } }), {
      epoch: 9,
      catchUpTimeoutMs: 1000,
    });
    expect(r).toMatchObject({ ok: false, stage: 'fence' });
    expect(calls).toContain('old1.unfence');
    expect(calls).not.toContain('old2.unfence');
    expect(calls.filter((c) => c.endsWith('.catchUp'))).toEqual([]);
  });

  it('after a promotion failure the old primaries stay fenced (retry, never roll back)', async () => {
    const calls: string[] = [];
    const r = await switchoverRegion(pairs(calls, { promote: refused }), {
      epoch: 9,
      catchUpTimeoutMs: 1000,
    });
    expect(r).toMatchObject({ ok: false, stage: 'promote' });
    expect(r.results.apim?.ok).toBe(true);
    expect(calls.filter((c) => c.endsWith('.unfence'))).toEqual([]);
  });
});

describe('database metrics', () => {
  it('counts outcomes, observes durations, keeps lag at promotion', async () => {
    const registry = new Registry();
    const m = createDatabaseMetrics(registry);
    m.init('r2', 'apim');
    m.recordPromotion('r2', 'apim', {
      ok: true,
      alreadyPrimary: false,
      verified: true,
      durationMs: 1500,
      lagAtPromotion: { seconds: 2, bytes: 4096 },
    });
    m.recordFence('r1', 'apim', { ok: false, sqlFenced: false, sessionsTerminated: 0, durationMs: 20 });
    m.recordLag('r2', 'apim', { lagSeconds: 0.5, lagBytes: null });
    const text = await registry.metrics();
    expect(text).toContain(
      'switchyard_database_promotions_total{region="r2",database="apim",outcome="success"} 1',
    );
    expect(text).toContain(
      'switchyard_database_fences_total{region="r1",database="apim",outcome="failure"} 1',
    );
    expect(text).toContain(
      'switchyard_database_promotion_duration_seconds_sum{region="r2",database="apim"} 1.5',
    );
    expect(text).toContain('switchyard_database_lag_at_promotion_seconds{region="r2",database="apim"} 2');
    expect(text).toContain('switchyard_database_lag_at_promotion_bytes{region="r2",database="apim"} 4096');
    expect(text).toContain('switchyard_replication_lag_seconds{region="r2",database="apim"} 0.5');
    expect(text).not.toContain('switchyard_replication_lag_bytes{');
  });

  it('reuses the daemon’s replication lag gauges when the registry already has them', () => {
    const registry = new Registry();
    const existing = new Gauge({
      name: 'switchyard_replication_lag_seconds',
      help: 'x',
      labelNames: ['region', 'database'],
      registers: [registry],
    });
    const m = createDatabaseMetrics(registry);
    expect(m.replicationLagSeconds).toBe(existing);
  });
});
