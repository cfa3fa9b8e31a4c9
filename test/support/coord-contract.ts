import { expect, it } from 'vitest';
import type { CoordPort, KeyValue, WatchEvent } from '../../src/coord/types.js';
import { isSwitchyardError } from '../../src/util/errors.js';

/**
 * The coordination port's semantics, as one list of cases run against both implementations:
 * the real etcd cluster (test/integration/coord-port.test.ts) and the in-memory twin
 * (test/unit/coord-port.test.ts). What differs between the two is only how time passes (real
 * sleeps against a FakeClock) and how a link is broken (a TCP proxy against a fault hook).
 */
export interface ContractEnv {
  /** A client with its own connection and the default call timeout. */
  client(): CoordPort;
  /** A client whose link to the store the test can break. */
  linked(): Promise<{ port: CoordPort; cut(): void; stall(): void; restore(): void }>;
  /** Lets `ms` of the port's time pass (a real sleep, or a FakeClock advance). */
  wait(ms: number): Promise<void>;
  /** The port's monotonic time. */
  now(): number;
  /** Discards history before `revision`. */
  compact(revision: number): Promise<void>;
  callTimeoutMs: number;
  /** Slack allowed on time bounds (scheduling on a loaded machine). */
  slackMs: number;
}

let seq = 0;
const fresh = () => `/contract/${process.pid}/${++seq}/`;

type Outcome<T> = { ok: true; value: T; at: number } | { ok: false; error: unknown; at: number };

function outcome<T>(env: ContractEnv, p: Promise<T>): Promise<Outcome<T>> {
  return p.then(
    (value) => ({ ok: true as const, value, at: env.now() }),
    (error: unknown) => ({ ok: false as const, error, at: env.now() }),
  );
}

/** Collects watch events; `until` waits (in port time) for a condition on them. */
function collector(env: ContractEnv) {
  const events: WatchEvent[] = [];
  return {
    events,
    on: (e: WatchEvent) => events.push(e),
    async until(what: string, cond: (evs: WatchEvent[]) => boolean, maxMs = 5_000): Promise<void> {
      const end = env.now() + maxMs;
      while (!cond(events)) {
        if (env.now() > end)
          throw new Error(`watch: timed out waiting for ${what}: ${JSON.stringify(events)}`);
        await env.wait(20);
      }
    },
  };
}

async function put(port: CoordPort, key: string, value: string, lease?: string) {
  return port.txn({ compare: [], success: [{ type: 'put', key, value, ...(lease ? { lease } : {}) }] });
}

export function portContract(setup: () => ContractEnv): void {
  let env: ContractEnv;
  const use = () => {
    env = setup();
    return env;
  };

  it('reads a missing key as null, with the store revision', async () => {
    const port = use().client();
    const r = await port.get(`${fresh()}nothing`);
    expect(r.kv).toBeNull();
    expect(r.revision).toBeGreaterThanOrEqual(1);
  });

  it('creates a key only if absent (createRevision == 0); the loser runs the failure branch', async () => {
    const port = use().client();
    const key = `${fresh()}leader`;
    const create = (value: string) =>
      port.txn({
        compare: [{ key, target: 'createRevision', op: '=', value: 0 }],
        success: [{ type: 'put', key, value }],
        failure: [{ type: 'get', key }],
      });
    const first = await create('a');
    expect(first.succeeded).toBe(true);
    expect(first.results).toEqual([{ type: 'put' }]);
    const got = await port.get(key);
    expect(got.kv).toEqual<KeyValue>({
      key,
      value: 'a',
      createRevision: first.revision,
      modRevision: first.revision,
      version: 1,
      lease: null,
    });
    const second = await create('b');
    expect(second.succeeded).toBe(false);
    expect(second.revision).toBe(first.revision);
    expect(second.results).toEqual([{ type: 'get', kv: got.kv }]);
    expect((await port.get(key)).kv?.value).toBe('a');
  });

  it('counts versions and revisions like etcd: puts bump them, no-op writes do not', async () => {
    const port = use().client();
    const p = fresh();
    const a = await put(port, `${p}k`, 'one');
    const b = await put(port, `${p}k`, 'two');
    expect(b.revision).toBe(a.revision + 1);
    const kv = (await port.get(`${p}k`)).kv;
    expect(kv).toMatchObject({
      value: 'two',
      version: 2,
      createRevision: a.revision,
      modRevision: b.revision,
    });
    // Deleting a missing key changes nothing and does not bump the revision.
    const none = await port.txn({ compare: [], success: [{ type: 'delete', key: `${p}missing` }] });
    expect(none.results).toEqual([{ type: 'delete', deleted: 0 }]);
    expect(none.revision).toBe(b.revision);
    // Several writes in one transaction share one revision.
    const multi = await port.txn({
      compare: [],
      success: [
        { type: 'put', key: `${p}x`, value: '1' },
        { type: 'put', key: `${p}y`, value: '2' },
        { type: 'delete', key: `${p}k` },
      ],
    });
    expect(multi.revision).toBe(b.revision + 1);
    expect(multi.results).toEqual([{ type: 'put' }, { type: 'put' }, { type: 'delete', deleted: 1 }]);
    expect((await port.get(`${p}x`)).kv?.modRevision).toBe(multi.revision);
    expect((await port.get(`${p}k`)).kv).toBeNull();
    // A key created again starts over.
    const again = await put(port, `${p}k`, 'three');
    expect((await port.get(`${p}k`)).kv).toMatchObject({ version: 1, createRevision: again.revision });
  });

  it('evaluates every kind of compare, all of which must hold', async () => {
    const port = use().client();
    const p = fresh();
    const w = await put(port, `${p}k`, 'banana');
    const ok = async (compare: Parameters<CoordPort['txn']>[0]['compare']) =>
      (await port.txn({ compare, success: [] })).succeeded;
    const key = `${p}k`;
    const missing = `${p}missing`;
    expect(await ok([{ key, target: 'modRevision', op: '=', value: w.revision }])).toBe(true);
    expect(await ok([{ key, target: 'modRevision', op: '!=', value: w.revision }])).toBe(false);
    expect(await ok([{ key, target: 'modRevision', op: '<', value: w.revision + 1 }])).toBe(true);
    expect(await ok([{ key, target: 'modRevision', op: '>', value: w.revision }])).toBe(false);
    expect(await ok([{ key, target: 'version', op: '=', value: 1 }])).toBe(true);
    expect(await ok([{ key, target: 'createRevision', op: '>', value: 0 }])).toBe(true);
    expect(await ok([{ key, target: 'value', op: '=', value: 'banana' }])).toBe(true);
    expect(await ok([{ key, target: 'value', op: '>', value: 'apple' }])).toBe(true);
    expect(await ok([{ key, target: 'value', op: '<', value: 'apple' }])).toBe(false);
    expect(await ok([{ key, target: 'lease', op: '=', value: null }])).toBe(true);
    // A missing key: version/revisions are 0, its lease is none, and a value compare never holds.
    expect(await ok([{ key: missing, target: 'version', op: '=', value: 0 }])).toBe(true);
    expect(await ok([{ key: missing, target: 'modRevision', op: '=', value: 0 }])).toBe(true);
    expect(await ok([{ key: missing, target: 'lease', op: '=', value: null }])).toBe(true);
    expect(await ok([{ key: missing, target: 'value', op: '=', value: '' }])).toBe(false);
    expect(await ok([{ key: missing, target: 'value', op: '!=', value: 'x' }])).toBe(false);
    // A conjunction fails when one part fails.
    expect(
      await ok([
        { key, target: 'version', op: '=', value: 1 },
        { key, target: 'value', op: '=', value: 'cherry' },
      ]),
    ).toBe(false);
  });

  it('lists a prefix in key order, and nothing outside it', async () => {
    const port = use().client();
    const p = fresh();
    await put(port, `${p}b`, '2');
    await put(port, `${p}a`, '1');
    await put(port, `${p}c/d`, '3');
    await put(port, `${p.slice(0, -1)}x`, 'outside');
    const r = await port.getPrefix(p);
    expect(r.kvs.map((kv) => [kv.key, kv.value])).toEqual([
      [`${p}a`, '1'],
      [`${p}b`, '2'],
      [`${p}c/d`, '3'],
    ]);
    expect(r.revision).toBeGreaterThanOrEqual(Math.max(...r.kvs.map((kv) => kv.modRevision)));
  });

  it('grants leases in whole seconds, binds keys to them, renews and revokes them', async () => {
    const port = use().client();
    const p = fresh();
    const lease = await port.grantLease(2_500);
    expect(lease.ttlMs).toBe(3_000);
    await put(port, `${p}owned`, 'v', lease.id);
    expect((await port.get(`${p}owned`)).kv?.lease).toBe(lease.id);
    const bound = await port.txn({
      compare: [{ key: `${p}owned`, target: 'lease', op: '=', value: lease.id }],
      success: [],
    });
    expect(bound.succeeded).toBe(true);
    expect(await port.keepAliveOnce(lease.id)).toEqual({ ttlMs: 3_000 });
    await port.revokeLease(lease.id);
    expect((await port.get(`${p}owned`)).kv).toBeNull();
    expect(await port.keepAliveOnce(lease.id)).toBeNull();
    await expect(port.revokeLease(lease.id)).resolves.toBeUndefined();
    const e = await port
      .txn({ compare: [], success: [{ type: 'put', key: `${p}late`, value: 'v', lease: lease.id }] })
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(isSwitchyardError(e, 'COORD_LEASE_NOT_FOUND')).toBe(true);
    expect((await port.get(`${p}late`)).kv).toBeNull();
  });

  it('expires a lease that is not kept alive, deleting its keys (a watch sees the delete)', async () => {
    const env = use();
    const port = env.client();
    const p = fresh();
    const lease = await port.grantLease(2_000);
    expect(lease.ttlMs).toBe(2_000);
    const w = await put(port, `${p}k`, 'v', lease.id);
    const seen = collector(env);
    const watch = port.watchPrefix(p, w.revision + 1, seen.on);
    const t0 = env.now();
    await env.wait(1_500);
    expect(await port.keepAliveOnce(lease.id)).toEqual({ ttlMs: 2_000 });
    // Without that renewal the key would be gone by now (2 s TTL, expired within 0.5 s after).
    await env.wait(Math.max(0, t0 + 3_000 - env.now()));
    expect((await port.get(`${p}k`)).kv?.value).toBe('v');
    await seen.until('the lease to expire', (evs) => evs.some((e) => e.type === 'delete'), 3_000);
    expect(seen.events[0]).toMatchObject({ type: 'delete', key: `${p}k` });
    expect((await port.get(`${p}k`)).kv).toBeNull();
    expect(await port.keepAliveOnce(lease.id)).toBeNull();
    watch.cancel();
  });

  it('watches a prefix from a revision: history, then live events in revision order', async () => {
    const env = use();
    const port = env.client();
    const p = fresh();
    const first = await put(port, `${p}a`, '1');
    await put(port, `${p}a`, '2');
    await put(port, `${fresh()}other`, 'not watched');
    const seen = collector(env);
    const watch = port.watchPrefix(p, first.revision, seen.on);
    await seen.until('history', (evs) => evs.length >= 2);
    const lease = await port.grantLease(5_000);
    await port.txn({
      compare: [],
      success: [
        { type: 'put', key: `${p}b`, value: '3', lease: lease.id },
        { type: 'delete', key: `${p}a` },
      ],
    });
    await port.revokeLease(lease.id);
    await seen.until('live events', (evs) => evs.length >= 5);
    const summary = seen.events.map((e) =>
      e.type === 'put'
        ? `put ${e.key.slice(p.length)}=${e.value}`
        : `${e.type} ${'key' in e ? e.key.slice(p.length) : ''}`,
    );
    expect(summary).toEqual(['put a=1', 'put a=2', 'put b=3', 'delete a', 'delete b']);
    const revs = seen.events.map((e) => ('modRevision' in e ? e.modRevision : 0));
    expect(revs[0]).toBe(first.revision);
    expect(revs[2]).toBe(revs[3]); // one transaction, one revision
    expect([...revs].sort((x, y) => x - y)).toEqual(revs);
    const put3 = seen.events[2];
    expect(put3).toMatchObject({ type: 'put', version: 1, lease: lease.id });
    watch.cancel();
    await put(port, `${p}c`, 'after cancel');
    await env.wait(200);
    expect(seen.events).toHaveLength(5);
  });

  it('reports a watch from a compacted revision as broken, with the compact revision', async () => {
    const env = use();
    const port = env.client();
    const p = fresh();
    const a = await put(port, `${p}k`, '1');
    const b = await put(port, `${p}k`, '2');
    await env.compact(b.revision);
    const seen = collector(env);
    port.watchPrefix(p, a.revision, seen.on);
    await seen.until('the broken report', (evs) => evs.length > 0);
    expect(seen.events).toEqual([
      { type: 'broken', reason: expect.stringMatching(/compacted/), compactRevision: b.revision },
    ]);
  });

  it('fails calls at once with COORD_UNAVAILABLE when the link is cut, breaks watches, recovers on restore', async () => {
    const env = use();
    const link = await env.linked();
    const p = fresh();
    await put(link.port, `${p}k`, 'v');
    const seen = collector(env);
    link.port.watchPrefix(p, 0, seen.on);
    await env.wait(300);
    link.cut();
    const t0 = env.now();
    const r = await outcome(env, link.port.get(`${p}k`));
    expect(r.ok).toBe(false);
    expect(isSwitchyardError(r.ok ? null : r.error, 'COORD_UNAVAILABLE')).toBe(true);
    expect(r.at - t0).toBeLessThanOrEqual(env.callTimeoutMs + env.slackMs);
    await seen.until('the broken report', (evs) => evs.some((e) => e.type === 'broken'));
    expect(seen.events.filter((e) => e.type === 'broken')).toHaveLength(1);
    link.restore();
    const end = env.now() + 5_000;
    for (;;) {
      const again = await outcome(env, link.port.get(`${p}k`));
      if (again.ok) {
        expect(again.value.kv?.value).toBe('v');
        break;
      }
      if (env.now() > end) throw again.error;
      await env.wait(100);
    }
  });

  it('bounds every call by its deadline when the store stops answering (a black hole)', async () => {
    const env = use();
    const link = await env.linked();
    const p = fresh();
    await put(link.port, `${p}k`, 'v');
    link.stall();
    const t0 = env.now();
    const calls = [
      outcome(env, link.port.get(`${p}k`)),
      outcome(env, put(link.port, `${p}k`, 'w')),
      outcome(env, link.port.grantLease(5_000)),
      outcome(env, link.port.keepAliveOnce('12345')),
    ];
    await env.wait(env.callTimeoutMs + env.slackMs);
    const results = await Promise.all(calls);
    for (const r of results) {
      expect(r.ok).toBe(false);
      expect(isSwitchyardError(r.ok ? null : r.error, 'COORD_UNAVAILABLE')).toBe(true);
      expect(r.at - t0).toBeGreaterThanOrEqual(env.callTimeoutMs - 5);
      expect(r.at - t0).toBeLessThanOrEqual(env.callTimeoutMs + env.slackMs);
    }
    link.restore();
    const end = env.now() + 5_000;
    for (;;) {
      const again = await outcome(env, link.port.get(`${p}k`, { timeoutMs: 1_000 }));
      if (again.ok) break;
      if (env.now() > end) throw again.error;
      await env.wait(100);
    }
  });

  it('after close(), calls fail with COORD_UNAVAILABLE and watches end without a report', async () => {
    const env = use();
    const port = env.client();
    const p = fresh();
    const seen = collector(env);
    port.watchPrefix(p, 0, seen.on);
    await env.wait(200);
    await port.close();
    const r = await outcome(env, port.get(`${p}k`));
    expect(r.ok).toBe(false);
    expect(isSwitchyardError(r.ok ? null : r.error, 'COORD_UNAVAILABLE')).toBe(true);
    await env.wait(200);
    expect(seen.events).toEqual([]);
  });
}
