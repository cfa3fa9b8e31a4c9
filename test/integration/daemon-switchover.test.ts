import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createPromoter } from '../../src/database/index.js';
import type { Promoter } from '../../src/database/types.js';
import { waitFor } from '../support/daemon-process.js';
import { writeE2eConfig } from '../support/e2e-config.js';
import { seedEndpoints } from '../support/fake-endpoint.js';
import { type PgPair, pgWaitReplayed, startPgPair } from '../support/pg-cluster.js';

/**
 * The daemon's planned switchover in process, on a real PostgreSQL pair, with r2's promoter
 * wrapped to observe the order of calls and to fail once on demand:
 * - the decision loop is paused while the switchover waits for catch-up (a decision would
 *   otherwise "resume" the pending promotion and promote the target before it caught up);
 * - a promotion that fails after the fence leaves the promotion pending and r1 fenced; the
 *   decision loop then completes it, and management moves.
 */
const TOKEN = 'integration-switchover-token-0123';
let pg: PgPair;
let daemon: Daemon;
let base = '';
const calls: string[] = [];
let failPromotes = 0;
const { gw, km } = seedEndpoints();

/** r2's promoter: a slow catch-up (3 decision ticks long) and promotions that fail while `failPromotes` > 0. */
function observed(real: Promoter): Promoter {
  return {
    engine: real.engine,
    label: real.label,
    status: () => real.status(),
    fence: (o) => real.fence(o),
    unfence: () => real.unfence(),
    async catchUp(target, timeoutMs) {
      calls.push('catchUp:start');
      await new Promise((r) => setTimeout(r, 3_000));
      const r = await real.catchUp(target, timeoutMs);
      calls.push(`catchUp:end:${r.ok}`);
      return r;
    },
    async promote(o) {
      if (failPromotes > 0) {
        failPromotes--;
        calls.push('promote:fail');
        return {
          ok: false,
          alreadyPrimary: false,
          verified: false,
          durationMs: 0,
          error: { code: 'PROMOTION_FAILED', reason: 'timeout', message: 'injected: pg_promote timed out' },
        };
      }
      calls.push(`promote:${o.epoch}`);
      return real.promote(o);
    },
  };
}

beforeAll(async () => {
  process.env.SY_E2E_TOKEN = TOKEN;
  pg = await startPgPair({ name: 'int-daemon-switchover' });
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.start()));
  const dir = mkdtempSync(join(tmpdir(), 'sy-int-sw-'));
  const cfg = writeE2eConfig(
    dir,
    { gw, km, db: { r1: pg.primary.config(), r2: pg.standby.config() } },
    { promotion: { mode: 'manual', promoteAfter: '2s', catchUpTimeout: '10s' } },
  );
  const { config } = loadConfig(cfg.path);
  daemon = new Daemon({
    config,
    logger: pino({ level: 'silent' }),
    listen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    evaluateIntervalMs: 500,
    promoter: (region, _key, db) => (region === 'r2' ? observed(createPromoter(db)) : createPromoter(db)),
  });
  const addr = await daemon.start();
  base = `http://127.0.0.1:${addr.admin?.port}`;
  await waitFor(
    () => daemon.status().regions.every((r) => r.components.every((c) => c.status === 'up')),
    20_000,
    'all up',
  );
  await pg.primary.appQuery('CREATE TABLE t (id int PRIMARY KEY)');
  await pgWaitReplayed(pg);
});

afterAll(async () => {
  await daemon?.stop();
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.stop()));
  await pg?.stop();
});

const post = async (path: string, body: unknown) => {
  const r = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe('daemon planned switchover', () => {
  it('pauses decisions during catch-up; a promotion failing after the fence stays pending and is completed', async () => {
    await pg.primary.appQuery('INSERT INTO t SELECT g FROM generate_series(1, 200) g');
    failPromotes = 1;
    const r = await post('/v1/admin/switchover', { to: 'r2', reason: 'integration' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ applied: false, outcome: 'incomplete' });
    expect(JSON.stringify(r.body)).toMatch(
      /FAILED during promotion .*injected: pg_promote timed out.* r1 stays fenced/,
    );
    // Nothing promoted the target while it was catching up, though decisions tick every 500ms.
    expect(calls.slice(0, 3)).toEqual(['catchUp:start', 'catchUp:end:true', 'promote:fail']);
    await expect(pg.primary.appQuery('INSERT INTO t VALUES (0)')).rejects.toThrow(/read-only/);

    // The decision loop resumes the pending promotion (same epoch) and completes it.
    await waitFor(() => daemon.status().main === 'r2', 20_000, 'the resumed promotion');
    expect(calls.filter((c) => c.startsWith('promote:') && c !== 'promote:fail')).toEqual(['promote:1']);
    const s = daemon.status();
    expect(s.epoch).toBe(1);
    expect(s.promotion).toBeNull();
    await waitFor(
      () => daemon.status().records.find((x) => x.class === 'management')?.weights.r2 === 100,
      10_000,
      'management on r2',
    );
    const rows = await pg.standby.appQuery<{ n: string }>('SELECT count(*)::text AS n FROM t');
    expect(rows[0]?.n).toBe('200');
  }, 60_000);

  it('a second switchover to the main is "already so"; a dry run reports without touching anything', async () => {
    const same = await post('/v1/admin/switchover', { to: 'r2', reason: 'integration' });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ applied: false, outcome: 'already', epoch: 1 });
    const noReason = await post('/v1/admin/switchover', { to: 'r1' });
    expect(noReason.status).toBe(400);
    const dry = await post('/v1/admin/switchover', { to: 'r1', dryRun: true });
    expect(dry.status).toBe(200);
    // r1 is the fenced old main, not a replica: not ready, and nothing was changed.
    expect(dry.body).toMatchObject({ applied: false, dryRun: true, main: 'r2', epoch: 1 });
    expect(String(dry.body.message)).toMatch(/NOT READY/);
    const bad = await post('/v1/admin/switchover', { to: 'r2', force: true });
    expect(bad.status).toBe(400);
  }, 30_000);
});
