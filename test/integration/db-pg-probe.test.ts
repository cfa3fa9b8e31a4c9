import { writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresProbe, PG_PROBE_APPLICATION } from '../../src/probe/postgres.js';
import { type PgPair, pgWaitReplayed, startPgPair } from '../support/pg-cluster.js';
import { freePort, sleep, waitFor } from '../support/proc.js';

let pair: PgPair;

beforeAll(async () => {
  pair = await startPgPair({ name: 'probe' });
  await pair.primary.appQuery('CREATE TABLE t (id serial primary key, pad text)');
  await pgWaitReplayed(pair);
});
afterAll(async () => {
  await pair?.stop();
});

describe('PostgreSQL probe against a real primary and streaming standby', () => {
  it('reports the primary as a writable primary with its WAL position', async () => {
    const r = await createPostgresProbe(pair.primary.config()).run();
    expect(r).toMatchObject({
      ok: true,
      engine: 'postgres',
      role: 'primary',
      writable: true,
      inRecovery: false,
    });
    expect(r.position).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(r.error).toBeUndefined();
  });

  it('reports the standby as a streaming, caught-up, read-only replica', async () => {
    await pgWaitReplayed(pair);
    const r = await createPostgresProbe(pair.standby.config()).run();
    expect(r).toMatchObject({
      ok: true,
      role: 'replica',
      writable: false,
      streaming: true,
      replayPaused: false,
      lagBytes: 0,
      lagSeconds: 0,
    });
    expect(r.receiveLsn).toBe(r.replayLsn);
  });

  it('shows lag growing in bytes and seconds while replay is paused and the primary writes', async () => {
    const probe = createPostgresProbe(pair.standby.config());
    // One replayed commit gives pg_last_xact_replay_timestamp() a value to age from.
    await pair.primary.appQuery("INSERT INTO t (pad) VALUES ('before')");
    await pgWaitReplayed(pair);
    await pair.standby.query('SELECT pg_wal_replay_pause()');
    try {
      await pair.primary.appQuery(
        "INSERT INTO t (pad) SELECT repeat('x', 200) FROM generate_series(1, 2000)",
      );
      const first = await waitFor('WAL received but not replayed', async () => {
        const r = await probe.run();
        return (r.lagBytes ?? 0) > 100_000 ? r : undefined;
      });
      expect(first).toMatchObject({ ok: true, role: 'replica', streaming: true, replayPaused: true });
      expect(first.lagSeconds).toBeGreaterThan(0);
      await sleep(1_100);
      const later = await probe.run();
      expect(later.lagSeconds).toBeGreaterThan((first.lagSeconds ?? 0) + 0.5);
      expect(later.detail).toContain('replay paused');
    } finally {
      await pair.standby.query('SELECT pg_wal_replay_resume()');
    }
    await pgWaitReplayed(pair);
    const after = await probe.run();
    expect(after).toMatchObject({ lagBytes: 0, lagSeconds: 0, replayPaused: false });
  });

  it('never leaks a connection: no probe session is left after many runs', async () => {
    const probes = [createPostgresProbe(pair.primary.config()), createPostgresProbe(pair.standby.config())];
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => probes[i % 2]!.run()));
    expect(results.every((r) => r.ok)).toBe(true);
    for (const node of [pair.primary, pair.standby]) {
      await waitFor(
        `no ${PG_PROBE_APPLICATION} sessions on ${node.name}`,
        async () => {
          const [row] = await node.query<{ n: number }>(
            'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
            [PG_PROBE_APPLICATION],
          );
          return row?.n === 0;
        },
        5_000,
      );
    }
  });

  it('fails fast with "refused" when nothing listens', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const r = await createPostgresProbe(pair.primary.config({ port })).run();
    expect(r).toMatchObject({ ok: false, error: 'refused', engine: 'postgres' });
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('fails with "auth" on a wrong password and never shows the password', async () => {
    const file = join(pair.dataDirs.primary, '..', 'wrong-password');
    await writeFile(file, 'not-the-Secret-42');
    const r = await createPostgresProbe(pair.primary.config({ password: `file:${file}` })).run();
    expect(r).toMatchObject({ ok: false, error: 'auth' });
    expect(JSON.stringify(r)).not.toContain('not-the-Secret-42');
  });

  it('times out against a server that accepts and never answers', async () => {
    const sockets: Socket[] = [];
    const server: Server = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const t0 = Date.now();
      const r = await createPostgresProbe(pair.primary.config({ port, connectTimeout: 300 }), {
        timeoutMs: 800,
      }).run();
      expect(r).toMatchObject({ ok: false, error: 'timeout' });
      expect(Date.now() - t0).toBeLessThan(1_500);
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });

  it('returns "aborted" when the scheduler aborts the run', async () => {
    const ac = new AbortController();
    ac.abort();
    const r = await createPostgresProbe(pair.primary.config()).run(ac.signal);
    expect(r).toMatchObject({ ok: false, error: 'aborted' });
  });
});
