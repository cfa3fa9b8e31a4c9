import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDnsProvider } from '../../src/dns/memory.js';
import { createDnsMetrics, type DnsMetrics } from '../../src/dns/metrics.js';
import { DnsReconciler, type ReconcileOutcome } from '../../src/dns/reconciler.js';
import type { RecordDef } from '../../src/topology/types.js';
import { FakeClock } from '../../src/util/clock.js';
import { SwitchyardError } from '../../src/util/errors.js';
import { desiredAll, flush, liveSets, record } from '../support/route53-fixtures.js';

const api = record('api.example.com', ['r1', 'r2']);
const auth = record('auth.example.com', ['r1', 'r2']);
const records: RecordDef[] = [api, auth];

let reconciler: DnsReconciler | undefined;
afterEach(async () => {
  await reconciler?.close();
  reconciler = undefined;
});

function setup(opts: { dryRun?: boolean; createMissing?: boolean; provider?: MemoryDnsProvider } = {}) {
  const clock = new FakeClock();
  const registry = new Registry();
  const metrics = createDnsMetrics(registry);
  const provider = opts.provider ?? new MemoryDnsProvider(liveSets(records));
  reconciler = new DnsReconciler({
    provider,
    records,
    logger: pino({ level: 'silent' }),
    metrics,
    clock,
    options: {
      dryRun: opts.dryRun ?? false,
      createMissing: opts.createMissing ?? false,
      retry: { baseMs: 1_000, maxMs: 4_000 },
      random: () => 0.5,
    },
  });
  return { clock, registry, metrics, provider, r: reconciler };
}

async function gauge(metrics: DnsMetrics): Promise<number> {
  return (await metrics.apiFailing.get()).values[0]?.value ?? -1;
}

function track(p: Promise<ReconcileOutcome>) {
  const state: { outcome?: ReconcileOutcome; error?: unknown } = {};
  p.then(
    (o) => {
      state.outcome = o;
    },
    (e) => {
      state.error = e;
    },
  );
  return state;
}

describe('DnsReconciler', () => {
  it('adopts live state at start and writes nothing', async () => {
    const { r, provider } = setup();
    const outcome = await r.start();
    expect(outcome.writeCalls).toBe(0);
    expect(provider.reads).toBe(1);
    expect(provider.batches).toEqual([]);
    expect(r.status().live).toEqual({ [api.key]: { r1: 100, r2: 0 }, [auth.key]: { r1: 100, r2: 0 } });
  });

  it('applies one decision as one batch of exactly the changed sets, then steady state makes no calls', async () => {
    const { r, provider, metrics } = setup();
    await r.start();
    const moved = await r.submit({ [api.key]: { r1: 0, r2: 100 }, [auth.key]: { r1: 100, r2: 0 } });
    expect(moved.writeCalls).toBe(1);
    expect(provider.batches).toHaveLength(1);
    expect(provider.batches[0]?.map((s) => `${s.recordKey}:${s.setIdentifier}=${s.weight}`)).toEqual([
      `${api.key}:r1=0`,
      `${api.key}:r2=100`,
    ]);
    for (let i = 0; i < 120; i++) {
      const again = await r.submit({ [api.key]: { r1: 0, r2: 100 }, [auth.key]: { r1: 100, r2: 0 } });
      expect(again.writeCalls).toBe(0);
    }
    expect(provider.reads).toBe(1);
    expect(provider.batches).toHaveLength(1);
    const weights = await metrics.weight.get();
    expect(weights.values.find((v) => v.labels.record === api.key && v.labels.set === 'r2')?.value).toBe(100);
  });

  it('never sends an all-zero record even if the engine asks for it', async () => {
    const { r, provider, metrics } = setup();
    await r.start();
    const outcome = await r.submit({ [api.key]: { r1: 0, r2: 0 }, [auth.key]: { r1: 0, r2: 100 } });
    expect(outcome.problems.map((p) => p.code)).toEqual(['DNS_ALL_ZERO']);
    expect(provider.batches.flat().map((s) => s.recordKey)).toEqual([auth.key, auth.key]);
    expect(provider.snapshot().filter((s) => s.recordKey === api.key && s.weight > 0)).toHaveLength(1);
    expect((await metrics.guardBlocked.get()).values[0]?.value).toBe(1);
  });

  it('dry-run logs and returns the changes but writes nothing', async () => {
    const { r, provider } = setup({ dryRun: true });
    await r.start();
    const outcome = await r.submit(desiredAll(records, true));
    expect(outcome.dryRun).toBe(true);
    expect(outcome.changes).toHaveLength(4);
    expect(outcome.writeCalls).toBe(0);
    expect(provider.batches).toEqual([]);
  });

  it('while the API fails it retries with backoff, raises the alert, and applies only the newest desired state', async () => {
    const { r, provider, metrics, clock } = setup();
    await r.start();
    const unavailable = () => new SwitchyardError('DNS_UNAVAILABLE', 'Route 53 is down');
    provider.failNext(unavailable(), unavailable(), unavailable());

    const first = track(r.submit({ [api.key]: { r1: 0, r2: 100 } }));
    await flush();
    expect(await gauge(metrics)).toBe(1);
    expect(r.status().failing).toBe(true);
    const second = track(r.submit({ [api.key]: { r1: 50, r2: 50 } }));
    const third = track(r.submit({ [api.key]: { r1: 100, r2: 7 } }));
    // Backoff: 1s, 2s, then success. Nothing is written before that.
    clock.advance(999);
    await flush();
    expect(provider.batches).toEqual([]);
    for (let i = 0; i < 4; i++) {
      clock.advance(4_000);
      await flush();
    }
    expect(provider.batches).toHaveLength(1);
    expect(provider.batches[0]?.map((s) => `${s.setIdentifier}=${s.weight}`)).toEqual(['r2=7']);
    for (const s of [first, second, third]) expect(s.outcome?.changes.map((c) => c.weight)).toEqual([7]);
    expect(await gauge(metrics)).toBe(0);
    expect(r.status().failing).toBe(false);
    expect(r.status().lastError?.code).toBe('DNS_UNAVAILABLE');
    // It re-read live state after the failures before planning.
    expect(provider.reads).toBeGreaterThan(1);
  });

  it('plans the newest desired state when a newer one arrives while live state is being read', async () => {
    // A read that is slow (Route 53 retrying through an outage) must not end in writing the
    // desired state that was current when it started: a newer submission supersedes it.
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    class SlowRead extends MemoryDnsProvider {
      slow = false;
      override async read(recs: readonly RecordDef[]) {
        if (this.slow) await gate;
        return super.read(recs);
      }
    }
    const provider = new SlowRead(liveSets(records));
    const { r } = setup({ provider });
    await r.start();
    provider.slow = true;
    const stale = track(r.fullReconcile()); // forces a re-read before the next plan
    const intermediate = track(r.submit({ [api.key]: { r1: 0, r2: 100 } }));
    await flush();
    const newest = track(r.submit({ [api.key]: { r1: 100, r2: 7 } }));
    release();
    await flush(20);
    expect(provider.batches.map((b) => b.map((x) => `${x.setIdentifier}=${x.weight}`))).toEqual([['r2=7']]);
    for (const s of [stale, intermediate, newest])
      expect(s.outcome?.changes.map((c) => c.weight)).toEqual([7]);
  });

  it('a permanent error rejects the submit, raises the alert until an apply succeeds, and is retried only after backoff', async () => {
    const { r, provider, clock, metrics } = setup();
    await r.start();
    provider.failNext(new SwitchyardError('DNS_INVALID_CHANGE', 'Route 53 rejected the batch'));
    const want = { [api.key]: { r1: 0, r2: 100 } };
    await expect(r.submit(want)).rejects.toMatchObject({ code: 'DNS_INVALID_CHANGE' });
    expect(await gauge(metrics)).toBe(1);
    expect(r.status()).toMatchObject({ failing: true, consecutiveFailures: 1 });
    expect(r.status().lastError?.code).toBe('DNS_INVALID_CHANGE');
    // The daemon offers the same desired state every decision tick: none of that is re-sent early.
    const readsAfterFailure = provider.reads;
    for (let i = 0; i < 7; i++) {
      r.offer(want);
      clock.advance(100);
      await flush();
    }
    expect(provider.batches).toEqual([]);
    expect(provider.reads).toBe(readsAfterFailure);
    expect(await gauge(metrics)).toBe(1);
    // The first backoff is 750 ms (1 s base, half of it jittered, jitter pinned at 0.5): then it is retried, and works.
    clock.advance(50);
    await flush(10);
    expect(provider.batches).toHaveLength(1);
    expect(await gauge(metrics)).toBe(0);
    expect(r.status()).toMatchObject({ failing: false, consecutiveFailures: 0 });
  });

  it('a permanent error is retried at once when the desired state changes', async () => {
    const { r, provider, clock, metrics } = setup();
    await r.start();
    provider.failNext(new SwitchyardError('DNS_INVALID_CHANGE', 'rejected'));
    await expect(r.submit({ [api.key]: { r1: 0, r2: 100 } })).rejects.toMatchObject({
      code: 'DNS_INVALID_CHANGE',
    });
    clock.advance(10);
    const changed = track(r.submit({ [api.key]: { r1: 50, r2: 50 } }));
    await flush(10);
    expect(changed.outcome?.writeCalls).toBe(1);
    expect(provider.batches.map((b) => b.map((x) => `${x.setIdentifier}=${x.weight}`))).toEqual([
      ['r1=50', 'r2=50'],
    ]);
    expect(await gauge(metrics)).toBe(0);
  });

  it('a permanent error is not waited out when a different desired state arrived while it was in flight', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { r, provider, clock } = setup();
    await r.start();
    const apply = provider.apply.bind(provider);
    let calls = 0;
    provider.apply = async (sets) => {
      calls++;
      if (calls === 1) {
        await gate;
        throw new SwitchyardError('DNS_INVALID_CHANGE', 'rejected');
      }
      return apply(sets);
    };
    const refused = track(r.submit({ [api.key]: { r1: 0, r2: 100 } }));
    await flush();
    const newer = track(r.submit({ [api.key]: { r1: 50, r2: 50 } }));
    release();
    await flush(20);
    expect(refused.error).toMatchObject({ code: 'DNS_INVALID_CHANGE' });
    expect(newer.outcome?.writeCalls).toBe(1);
    expect(clock.monotonic()).toBe(0); // no backoff was waited
    expect(provider.batches.map((b) => b.map((x) => `${x.setIdentifier}=${x.weight}`))).toEqual([
      ['r1=50', 'r2=50'],
    ]);
  });

  it('a permanent error keeps backing off while it persists', async () => {
    const { r, provider, clock } = setup();
    await r.start();
    const attempts: number[] = [];
    const apply = provider.apply.bind(provider);
    provider.apply = async (sets) => {
      attempts.push(clock.monotonic());
      if (attempts.length <= 6) throw new SwitchyardError('DNS_INVALID_CHANGE', 'rejected');
      return apply(sets);
    };
    r.offer({ [api.key]: { r1: 0, r2: 100 } });
    for (let i = 0; i < 400; i++) {
      r.offer({ [api.key]: { r1: 0, r2: 100 } }); // every tick, unchanged
      await clock.advanceAsync(100);
    }
    // Backoff 0.75 s, 1.5 s, 3 s, 3 s… (base 1 s, max 4 s, jitter pinned): 7 attempts in 40 s, not 400.
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number));
    expect(attempts.length).toBe(7);
    expect(gaps).toEqual([750, 1_500, 3_000, 3_000, 3_000, 3_000]);
    expect(provider.batches).toHaveLength(1);
  });

  it('refuses ownership conflicts from read: the alert stays, no background re-read, then only with backoff', async () => {
    const { r, provider, clock, metrics } = setup();
    const notOurs = () => new SwitchyardError('DNS_OWNERSHIP', 'not ours');
    provider.failNext(notOurs(), notOurs());
    await expect(r.start()).rejects.toMatchObject({ code: 'DNS_OWNERSHIP' });
    expect(await gauge(metrics)).toBe(1);
    clock.advance(120_000);
    await flush();
    // Nobody waits for that read any more (the daemon refuses to start): nothing retries it, and
    // no timer is left to keep the process alive.
    expect(provider.reads).toBe(1);
    expect(clock.pending()).toBe(0);
    expect(r.status().failing).toBe(true);
    const want = { [api.key]: { r1: 0, r2: 100 } };
    await expect(r.submit(want)).rejects.toMatchObject({ code: 'DNS_OWNERSHIP' }); // read at once
    expect(provider.reads).toBe(2);
    for (let i = 0; i < 10; i++) {
      r.offer(want);
      clock.advance(100);
      await flush();
    }
    expect(provider.reads).toBe(2); // backoff 1.5 s (2 s base, jitter pinned) not passed yet
    clock.advance(600);
    await flush(10);
    expect(provider.reads).toBe(3); // resolved meanwhile: read and applied
    expect(provider.batches).toHaveLength(1);
    expect(await gauge(metrics)).toBe(0);
  });

  it('offer() is fire-and-forget: a permanent error ends up in status(), not as an unhandled rejection', async () => {
    const { r, provider, clock } = setup();
    await r.start();
    provider.failNext(new SwitchyardError('DNS_INVALID_CHANGE', 'rejected'));
    r.offer({ [api.key]: { r1: 0, r2: 100 } });
    await flush();
    expect(r.status().lastError?.code).toBe('DNS_INVALID_CHANGE');
    r.offer({ [api.key]: { r1: 0, r2: 100 } });
    await flush();
    expect(provider.batches).toHaveLength(0);
    clock.advance(1_000);
    await flush();
    expect(provider.batches).toHaveLength(1);
  });

  it('status() tells the last change written and the last read-back apart from the no-op apply', async () => {
    const { r, clock } = setup();
    const t0 = clock.wall();
    await r.start();
    expect(r.status().lastReadAt).toBe(new Date(t0).toISOString());
    expect(r.status().lastChangeAt).toBeUndefined();
    clock.advance(5_000);
    await r.submit({ [api.key]: { r1: 0, r2: 100 } });
    const changedAt = new Date(clock.wall()).toISOString();
    clock.advance(60_000);
    await r.submit({ [api.key]: { r1: 0, r2: 100 } }); // no-op
    expect(r.status()).toMatchObject({
      lastChangeAt: changedAt,
      lastApplyAt: new Date(clock.wall()).toISOString(),
      lastReadAt: new Date(t0).toISOString(),
    });
    clock.advance(1_000);
    await r.fullReconcile();
    expect(r.status().lastReadAt).toBe(new Date(clock.wall()).toISOString());
    expect(r.status().lastChangeAt).toBe(changedAt);
  });

  it('a full reconcile re-reads live state and corrects drift made behind its back', async () => {
    const { r, provider } = setup();
    await r.start();
    await r.submit({ [api.key]: { r1: 0, r2: 100 } });
    provider.put({
      ...provider.snapshot().find((s) => s.recordKey === api.key && s.setIdentifier === 'r1')!,
      weight: 200,
    });
    // A normal submit plans against the cache: no read, no write.
    expect((await r.submit({ [api.key]: { r1: 0, r2: 100 } })).writeCalls).toBe(0);
    const full = await r.fullReconcile();
    expect(full.changes.map((c) => `${c.setIdentifier}=${c.weight}`)).toEqual(['r1=0']);
    expect(provider.reads).toBe(2);
  });

  it('reports missing sets, and creates them only with createMissing', async () => {
    const empty = new MemoryDnsProvider([]);
    const { r } = setup({ provider: empty });
    await r.start();
    const outcome = await r.submit(desiredAll(records));
    expect(outcome.writeCalls).toBe(0);
    expect(outcome.problems.every((p) => p.code === 'DNS_MISSING_SET')).toBe(true);
    await r.close();
    const { r: creating, provider } = setup({ provider: new MemoryDnsProvider([]), createMissing: true });
    await creating.start();
    expect((await creating.submit(desiredAll(records))).writeCalls).toBe(1);
    expect(provider.snapshot()).toHaveLength(4);
  });

  it('close() rejects waiting submits and stops retrying', async () => {
    const { r, provider, clock } = setup();
    await r.start();
    provider.failNext(new Error('boom'), new Error('boom'));
    const pending = track(r.submit({ [api.key]: { r1: 0, r2: 100 } }));
    await flush();
    await r.close();
    await flush();
    clock.advance(60_000);
    await flush();
    expect(pending.error).toBeInstanceOf(SwitchyardError);
    expect(provider.batches).toEqual([]);
  });

  it('a call that never answers raises the alert after stallAfterMs, and close() is bounded anyway', async () => {
    class Hung extends MemoryDnsProvider {
      hang = false;
      override read(recs: readonly RecordDef[]) {
        return this.hang ? new Promise<never>(() => undefined) : super.read(recs);
      }
      close() {
        return new Promise<void>(() => undefined); // ignores the abort too
      }
    }
    const provider = new Hung(liveSets(records));
    const clock = new FakeClock();
    const metrics = createDnsMetrics(new Registry());
    const r = new DnsReconciler({
      provider,
      records,
      logger: pino({ level: 'silent' }),
      metrics,
      clock,
      options: { dryRun: false, createMissing: false, stallAfterMs: 20_000, closeGraceMs: 5_000 },
    });
    await r.start();
    provider.hang = true;
    const full = track(r.fullReconcile());
    await clock.advanceAsync(19_999);
    expect(await gauge(metrics)).toBe(0);
    await clock.advanceAsync(1);
    expect(await gauge(metrics)).toBe(1);
    expect(r.status()).toMatchObject({ failing: true, lastError: { code: 'DNS_UNAVAILABLE' } });
    let closed = false;
    const closing = r.close().then(() => {
      closed = true;
    });
    await clock.advanceAsync(9_999);
    expect(closed).toBe(false);
    await clock.advanceAsync(1);
    await closing;
    expect(closed).toBe(true);
    expect(full.error).toBeInstanceOf(SwitchyardError);
  });
});
