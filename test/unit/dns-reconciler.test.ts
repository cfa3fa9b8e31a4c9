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

  it('rejects a submit for non-retryable errors and does not retry them', async () => {
    const { r, provider, clock } = setup();
    await r.start();
    provider.failNext(new SwitchyardError('DNS_INVALID_CHANGE', 'Route 53 rejected the batch'));
    await expect(r.submit({ [api.key]: { r1: 0, r2: 100 } })).rejects.toMatchObject({
      code: 'DNS_INVALID_CHANGE',
    });
    clock.advance(60_000);
    await flush();
    expect(provider.batches).toEqual([]);
    expect(r.status().lastError?.code).toBe('DNS_INVALID_CHANGE');
    // The next submit works again (after a fresh read).
    const ok = await r.submit({ [api.key]: { r1: 0, r2: 100 } });
    expect(ok.writeCalls).toBe(1);
  });

  it('refuses ownership conflicts from read without retrying in a loop', async () => {
    const { r, provider, clock } = setup();
    provider.failNext(new SwitchyardError('DNS_OWNERSHIP', 'not ours'));
    await expect(r.start()).rejects.toMatchObject({ code: 'DNS_OWNERSHIP' });
    clock.advance(120_000);
    await flush();
    expect(provider.reads).toBe(1);
  });

  it('offer() is fire-and-forget: a permanent error ends up in status(), not as an unhandled rejection', async () => {
    const { r, provider } = setup();
    await r.start();
    provider.failNext(new SwitchyardError('DNS_INVALID_CHANGE', 'rejected'));
    r.offer({ [api.key]: { r1: 0, r2: 100 } });
    await flush();
    expect(r.status().lastError?.code).toBe('DNS_INVALID_CHANGE');
    r.offer({ [api.key]: { r1: 0, r2: 100 } });
    await flush();
    expect(provider.batches).toHaveLength(1);
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
});
