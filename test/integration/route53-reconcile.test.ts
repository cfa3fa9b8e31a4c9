import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { DnsReconciler } from '../../src/dns/reconciler.js';
import type { RecordDef } from '../../src/topology/types.js';
import { systemClock } from '../../src/util/clock.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import {
  asEmulatorSets,
  desiredAll,
  liveSets,
  manyRecords,
  seedLayout,
} from '../support/route53-fixtures.js';
import { type HarnessOptions, type Route53Harness, startRoute53Harness } from '../support/route53-harness.js';

let h: Route53Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const layout = seedLayout();
const [apiR1, apiR2, apiR3] = layout as [RecordDef, RecordDef, RecordDef];

async function start(
  opts: Partial<HarnessOptions> & { records?: readonly RecordDef[] } = {},
): Promise<Route53Harness> {
  const records = opts.records ?? layout;
  h = await startRoute53Harness({
    seed: (emu) => {
      emu.seed(asEmulatorSets(liveSets(records)));
      // Records switchyard does not manage, around and between the managed names.
      emu.seed([
        { name: 'www.example.com', type: 'A', ttl: 300, values: ['198.51.100.1'] },
        { name: 'api.r1.example.com', type: 'TXT', ttl: 300, values: ['"owned by someone else"'] },
        { name: 'b.example.com', type: 'CNAME', ttl: 300, values: ['www.example.com'] },
      ]);
    },
    ...opts,
    records,
  });
  return h;
}

const writes = (x: Route53Harness) => x.emulator.calls.ChangeResourceRecordSets;

describe('Route 53 through the real SDK, against the emulator', () => {
  it('first reconcile adopts live state and creates nothing', async () => {
    const x = await start();
    const before = x.emulator.list();
    const outcome = await x.reconciler.start();
    expect(outcome.writeCalls).toBe(0);
    expect(writes(x)).toBe(0);
    expect(x.emulator.list()).toEqual(before);
    expect(x.reconciler.status().live?.[apiR3.key]).toEqual({ r3: 100, r1: 0, r2: 0 });
    expect(x.emulator.calls.GetHostedZone).toBe(1);
  });

  it('does not create missing sets unless createMissing is on', async () => {
    const x = await startRoute53Harness({
      records: layout,
      seed: (emu) => emu.seed(asEmulatorSets(liveSets(layout).filter((s) => s.recordKey !== apiR1.key))),
    });
    h = x;
    await x.reconciler.start();
    const outcome = await x.reconciler.submit(desiredAll(layout));
    expect(outcome.problems.map((p) => p.code)).toEqual(['DNS_MISSING_SET', 'DNS_MISSING_SET']);
    expect(writes(x)).toBe(0);
    expect(x.emulator.find(apiR1.name, 'A', 'r1')).toBeUndefined();
  });

  it('creates missing sets when createMissing is on', async () => {
    const x = await startRoute53Harness({ records: [apiR1], createMissing: true });
    h = x;
    await x.reconciler.start();
    const outcome = await x.reconciler.submit(desiredAll([apiR1]));
    expect(outcome.writeCalls).toBe(1);
    expect(x.emulator.find(apiR1.name, 'A', 'r1')?.weight).toBe(100);
    expect(x.emulator.find(apiR1.name, 'A', 'r2')?.weight).toBe(0);
  });

  it('a decision produces one batch with exactly the changed sets, UPSERT only; a repeat makes zero writes', async () => {
    const x = await start();
    await x.reconciler.start();
    const desired = desiredAll(layout);
    desired[apiR1.key] = { r1: 0, r2: 100 };
    desired[apiR3.key] = { r3: 0, r1: 100, r2: 0 };
    const outcome = await x.reconciler.submit(desired);
    expect(outcome.writeCalls).toBe(1);
    expect(x.emulator.batches).toHaveLength(1);
    expect(
      x.emulator.batches[0]?.changes.map(
        (c) => `${c.action} ${c.set.name} ${c.set.setIdentifier}=${c.set.weight}`,
      ),
    ).toEqual([
      'UPSERT api.r1.example.com. r1=0',
      'UPSERT api.r1.example.com. r2=100',
      'UPSERT api.r3.example.com. r3=0',
      'UPSERT api.r3.example.com. r1=100',
    ]);
    const report = await outcome.insync;
    expect(report?.status).toBe('INSYNC');
    expect(report?.propagationMs).toBeGreaterThanOrEqual(30);
    expect(
      (await x.metrics.insyncSeconds.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value,
    ).toBe(1);

    const callsBefore = x.emulator.totalCalls();
    for (let i = 0; i < 20; i++) expect((await x.reconciler.submit(desired)).writeCalls).toBe(0);
    expect(x.emulator.totalCalls()).toBe(callsBefore); // steady state: no API calls at all
    const full = await x.reconciler.fullReconcile();
    expect(full.writeCalls).toBe(0);
    expect(writes(x)).toBe(1);
  });

  it('retries Throttling and PriorRequestNotComplete and succeeds', async () => {
    const x = await start();
    await x.reconciler.start();
    x.emulator.failNext(2, 'Throttling', 'ChangeResourceRecordSets');
    x.emulator.failNext(1, 'PriorRequestNotComplete', 'ChangeResourceRecordSets');
    const outcome = await x.reconciler.submit({ [apiR2.key]: { r1: 0, r2: 100 } });
    expect(outcome.writeCalls).toBe(1);
    expect(writes(x)).toBe(4);
    expect(x.emulator.find(apiR2.name, 'A', 'r2')?.weight).toBe(100);
    const retries = (await x.metrics.retries.get()).values.find(
      (v) => v.labels.operation === 'ChangeResourceRecordSets',
    );
    expect(retries?.value).toBe(3);
    const throttled = (await x.metrics.apiCalls.get()).values.find(
      (v) => v.labels.operation === 'ChangeResourceRecordSets' && v.labels.outcome === 'throttled',
    );
    expect(throttled?.value).toBe(3);
    expect(x.reconciler.status().failing).toBe(false);
  });

  it('retries a write whose connection was reset by the server', async () => {
    const x = await start();
    await x.reconciler.start();
    x.emulator.failNext(2, 'ConnectionReset', 'ChangeResourceRecordSets');
    const outcome = await x.reconciler.submit({ [apiR1.key]: { r1: 0, r2: 100 } });
    expect(outcome.writeCalls).toBe(1);
    expect(writes(x)).toBe(3);
    expect(x.emulator.batches).toHaveLength(1);
  });

  it('refuses a non-weighted record with a managed name and leaves it untouched', async () => {
    const x = await startRoute53Harness({
      records: layout,
      seed: (emu) => {
        emu.seed(asEmulatorSets(liveSets(layout).filter((s) => s.recordKey !== apiR1.key)));
        emu.seed({ name: apiR1.name, type: 'A', ttl: 300, values: ['203.0.113.99'] });
      },
    });
    h = x;
    const err = await x.reconciler.start().catch((e) => e);
    expect(isSwitchyardError(err, 'DNS_OWNERSHIP')).toBe(true);
    expect(err.message).toContain('api.r1.example.com/A: live record uses simple routing');
    await expect(x.reconciler.submit(desiredAll(layout, true))).rejects.toMatchObject({
      code: 'DNS_OWNERSHIP',
    });
    expect(writes(x)).toBe(0);
    expect(x.emulator.find(apiR1.name, 'A')).toEqual({
      name: 'api.r1.example.com.',
      type: 'A',
      ttl: 300,
      values: ['203.0.113.99'],
    });
  });

  it('refuses a weighted set whose identifier is not configured', async () => {
    const x = await start({
      seed: (emu) => {
        emu.seed(asEmulatorSets(liveSets(layout)));
        emu.seed({
          name: apiR2.name,
          type: 'A',
          setIdentifier: 'canary',
          weight: 5,
          ttl: 60,
          values: ['10.9.9.9'],
        });
      },
    });
    await expect(x.reconciler.start()).rejects.toMatchObject({ code: 'DNS_OWNERSHIP' });
    expect(writes(x)).toBe(0);
  });

  it('never sends an all-zero record set, even when the engine asks for one', async () => {
    const x = await start();
    await x.reconciler.start();
    const outcome = await x.reconciler.submit({ [apiR1.key]: { r1: 0, r2: 0 } });
    expect(outcome.problems.map((p) => p.code)).toEqual(['DNS_ALL_ZERO']);
    expect(writes(x)).toBe(0);
    expect(x.emulator.find(apiR1.name, 'A', 'r1')?.weight).toBe(100);
  });

  it('splits a 1,000-set change at Route 53 limits and pages through the listing', async () => {
    const records = manyRecords(500, ['r1', 'r2']);
    const x = await start({ records, pageSize: 300 });
    await x.reconciler.start();
    expect(x.emulator.calls.ListResourceRecordSets).toBeGreaterThanOrEqual(4);
    const outcome = await x.reconciler.submit(desiredAll(records, true));
    expect(outcome.changes).toHaveLength(1_000);
    expect(outcome.writeCalls).toBe(2);
    expect(x.emulator.batches.map((b) => b.changes.length)).toEqual([500, 500]);
    expect(x.emulator.rejected).toEqual([]);
    const weights = x.emulator
      .list()
      .filter((s) => s.setIdentifier === 'r2')
      .map((s) => s.weight);
    expect(weights).toHaveLength(500);
    expect(weights.every((w) => w === 100)).toBe(true);
  });

  it('reads only the managed names when the zone is large, jumping over the rest', async () => {
    const records = [apiR1, apiR3];
    const x = await start({ records, pageSize: 2 });
    x.emulator.seed(
      Array.from({ length: 50 }, (_, i) => ({
        name: `api.r2${i}.example.com`,
        type: 'A',
        ttl: 60,
        values: ['10.0.0.1'],
      })),
    );
    await x.reconciler.start();
    expect(x.reconciler.status().live).toEqual({
      [apiR1.key]: { r1: 100, r2: 0 },
      [apiR3.key]: { r3: 100, r1: 0, r2: 0 },
    });
    expect(x.emulator.calls.ListResourceRecordSets).toBeLessThan(8);
  });

  it('while the API fails it keeps the newest desired state, raises the alert, and applies only that on recovery', async () => {
    const x = await start({ maxRetries: 1 });
    await x.reconciler.start();
    x.emulator.setOutage('ServiceUnavailable');
    const first = x.reconciler.submit({ [apiR1.key]: { r1: 0, r2: 100 } });
    await new Promise((r) => setTimeout(r, 100));
    const second = x.reconciler.submit({ [apiR1.key]: { r1: 50, r2: 50 } });
    const third = x.reconciler.submit({ [apiR1.key]: { r1: 10, r2: 90 } });
    await new Promise((r) => setTimeout(r, 150));
    expect((await x.metrics.apiFailing.get()).values[0]?.value).toBe(1);
    expect(x.reconciler.status()).toMatchObject({ failing: true, pending: true });
    expect(x.emulator.batches).toHaveLength(0);
    x.emulator.setOutage(undefined);
    const outcomes = await Promise.all([first, second, third]);
    for (const o of outcomes) expect(o.changes.map((c) => c.weight)).toEqual([10, 90]);
    expect(x.emulator.batches).toHaveLength(1);
    expect(x.emulator.find(apiR1.name, 'A', 'r2')?.weight).toBe(90);
    expect((await x.metrics.apiFailing.get()).values[0]?.value).toBe(0);
  });

  it('dry-run sends no writes', async () => {
    const x = await start({ dryRun: true });
    await x.reconciler.start();
    const outcome = await x.reconciler.submit(desiredAll(layout, true));
    expect(outcome.dryRun).toBe(true);
    expect(outcome.changes.length).toBeGreaterThan(0);
    expect(writes(x)).toBe(0);
  });

  it('reports InvalidChangeBatch with Route 53 message and does not retry it', async () => {
    const x = await start();
    x.emulator.seed({ name: 'clash.example.com', type: 'CNAME', ttl: 60, values: ['www.example.com'] });
    const [set] = liveSets([{ ...apiR1, key: 'clash.example.com/A', name: 'clash.example.com' }]);
    const err = await x.provider.apply([set!]).catch((e) => e);
    expect(isSwitchyardError(err, 'DNS_INVALID_CHANGE')).toBe(true);
    expect(err.message).toContain('conflicting RRSet of type CNAME');
    expect(writes(x)).toBe(1);
  });

  it('a permanent InvalidChangeBatch raises the alert until an apply succeeds and is not re-sent every tick (issue 8.5)', async () => {
    // The emulator takes 2 ResourceRecord elements per request: moving api.r1 (two UPSERTs, 4
    // elements) is refused as InvalidChangeBatch every time, a one-set change is accepted.
    const x = await start({ records: [apiR1], emulator: { maxRecordElements: 2 } });
    const r = new DnsReconciler({
      provider: x.provider,
      records: [apiR1],
      logger: pino({ level: 'silent' }),
      metrics: x.metrics,
      clock: systemClock,
      options: { dryRun: false, createMissing: false, retry: { baseMs: 400, maxMs: 800 }, random: () => 0.5 },
    });
    const gauge = async () => (await x.metrics.apiFailing.get()).values[0]?.value;
    try {
      await r.start();
      const move = { [apiR1.key]: { r1: 0, r2: 100 } };
      const err = await r.submit(move).catch((e) => e);
      expect(isSwitchyardError(err, 'DNS_INVALID_CHANGE')).toBe(true);
      expect(err.message).toContain('Number of records limit of 2 exceeded');
      expect(r.status()).toMatchObject({ failing: true, lastError: { code: 'DNS_INVALID_CHANGE' } });
      const sent = x.emulator.calls.ChangeResourceRecordSets;
      // One second of decision ticks every 20 ms, each offering the same refused state.
      const seen: (number | undefined)[] = [];
      for (let i = 0; i < 50; i++) {
        r.offer(move);
        seen.push(await gauge());
        await new Promise((res) => setTimeout(res, 20));
      }
      expect(seen.every((v) => v === 1)).toBe(true);
      // Retried after backoff only (300 ms, then 600 ms): at most two more attempts, not fifty.
      const resent = x.emulator.calls.ChangeResourceRecordSets - sent;
      expect(resent).toBeGreaterThanOrEqual(1);
      expect(resent).toBeLessThanOrEqual(2);
      expect(x.emulator.rejected.every((e) => e.code === 'InvalidChangeBatch')).toBe(true);
      // A changed desired state is tried at once, without waiting for the backoff, and succeeds.
      const t0 = performance.now();
      const ok = await r.submit({ [apiR1.key]: { r1: 100, r2: 50 } });
      expect(performance.now() - t0).toBeLessThan(300);
      expect(ok.writeCalls).toBe(1);
      expect(await gauge()).toBe(0);
      expect(r.status()).toMatchObject({ failing: false, consecutiveFailures: 0 });
      expect(x.emulator.find(apiR1.name, 'A', 'r2')?.weight).toBe(50);
    } finally {
      await r.close();
    }
  });
});
