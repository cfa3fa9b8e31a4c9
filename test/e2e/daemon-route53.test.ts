import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../../src/server/status.js';
import { DaemonProcess, waitFor } from '../support/daemon-process.js';
import { EMULATOR_AWS_ENV, homeWeights, route53DnsConfig, writeE2eConfig } from '../support/e2e-config.js';
import { seedEndpoints } from '../support/fake-endpoint.js';
import { closedPort } from '../support/http-fixtures.js';
import { type PgPair, startPgPair } from '../support/pg-cluster.js';
import { promtoolCheck } from '../support/promtool.js';
import { Route53Emulator } from '../support/route53-emulator.js';
import { seedE2eZone, zoneWeights } from '../support/route53-fixtures.js';

/**
 * The daemon as operators run it (child process, real CLI `run`) with `dns.provider: route53`,
 * talking through the real AWS SDK to the local Route 53 emulator, probing real local HTTP
 * endpoints and a real PostgreSQL pair. The tests run in order and share one daemon: each starts
 * from the zone the previous one left.
 */
const TOKEN = 'e2e-route53-admin-token-0123456789';
let pg: PgPair;
let emu: Route53Emulator;
let daemon: DaemonProcess;
const { gw, km } = seedEndpoints();
const API_R2 = 'api.r2.example.com/A';
const API_R3 = 'api.r3.example.com/A';
const API_R4 = 'api.r4.example.com/A';

beforeAll(async () => {
  emu = new Route53Emulator({ insyncDelayMs: 200 });
  const [pair, endpoint] = await Promise.all([startPgPair({ name: 'e2e-route53' }), emu.start()]);
  pg = pair;
  // The zone already holds every managed weighted set, at the weights an all-healthy engine wants.
  seedE2eZone(emu, homeWeights());
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.start()));
  const dir = mkdtempSync(join(tmpdir(), 'sy-e2e-r53-'));
  const cfg = writeE2eConfig(
    dir,
    { gw, km, db: { r1: pg.primary.config(), r2: pg.standby.config() } },
    {},
    // A full reconcile (re-read of the zone) every 2 s, so steady state covers it as well.
    { dns: route53DnsConfig(endpoint, emu.zoneId, { reconcile: '*/2 * * * * *' }) },
  );
  daemon = new DaemonProcess(cfg.path, `127.0.0.1:${await closedPort()}`, {
    ...EMULATOR_AWS_ENV,
    SY_E2E_TOKEN: TOKEN,
  }).start();
  await daemon.waitReady();
});

afterAll(async () => {
  await daemon?.stop();
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.stop()));
  await emu?.stop();
  await pg?.stop();
});

const status = async () => JSON.parse((await daemon.get('/v1/status')).body) as StatusDocument;
const metrics = async () => (await daemon.get('/metrics')).body;
const lastApply = async () => Date.parse((await status()).dns.lastApplyAt ?? '') || 0;
/** Waits until the daemon's DNS worker has finished a reconcile that started after now. */
const reconciledSince = async (since: number, what: string) =>
  waitFor(async () => (await lastApply()) > since + 50, 15_000, what);
/** The engine's desired weights of a record (what it handed to DNS, written or not yet). */
const desired = async (key: string) => (await status()).records.find((r) => r.key === key)?.weights;

describe('switchyard run with dns.provider route53 (emulator)', () => {
  it('adopts the live zone at start and writes nothing when it already matches', async () => {
    await waitFor(
      async () => (await status()).regions.every((r) => r.components.every((c) => c.status === 'up')),
      15_000,
      'all components up',
    );
    await reconciledSince(Date.now(), 'a reconcile with everything up');
    expect(emu.calls.GetHostedZone).toBeGreaterThanOrEqual(1);
    expect(emu.calls.ListResourceRecordSets).toBeGreaterThanOrEqual(1);
    expect(emu.calls.ChangeResourceRecordSets).toBe(0);
    expect(emu.batches).toEqual([]);
    expect(daemon.events().filter((e) => e.msg === 'dns weights applied')).toEqual([]);
    const s = await status();
    expect(s.dns).toMatchObject({ provider: 'route53', dryRun: false, failing: false, lastApplyOk: true });
    expect(zoneWeights(emu)).toEqual(homeWeights());
    expect(await metrics()).toMatch(
      /switchyard_dns_weight\{record="api\.r3\.example\.com\/A",set="r3"\} 100/,
    );
  });

  it('a gateway that stops: one ChangeResourceRecordSets with only the changed sets', async () => {
    emu.resetCounters();
    await gw.r3.stop();
    await waitFor(() => zoneWeights(emu)[API_R3]?.r1 === 100, 15_000, 'api.r3 moved to r1 in the zone');
    await waitFor(() => emu.calls.GetChange > 0, 5_000, 'propagation polled with GetChange');
    expect(emu.calls.ChangeResourceRecordSets).toBe(1);
    expect(emu.batches).toHaveLength(1);
    const changes = emu.batches[0]?.changes.map((c) => [
      c.action,
      c.set.name,
      c.set.setIdentifier,
      c.set.weight,
    ]);
    // Only api.r3's two sets that change; its r2 set (0 → 0) and every other record are not sent.
    expect(changes).toEqual([
      ['UPSERT', 'api.r3.example.com.', 'r3', 0],
      ['UPSERT', 'api.r3.example.com.', 'r1', 100],
    ]);
    expect(zoneWeights(emu)).toEqual({ ...homeWeights(), [API_R3]: { r1: 100, r2: 0, r3: 0 } });
    // Values and TTL written are the configured ones.
    expect(emu.find('api.r3.example.com', 'A', 'r1')).toMatchObject({ ttl: 60, values: ['192.0.2.1'] });
    await waitFor(
      async () => /switchyard_dns_insync_seconds_count 1\b/.test(await metrics()),
      10_000,
      'INSYNC observed',
    );
  });

  it('steady state: reconciles and full re-reads keep running, zero write calls', async () => {
    emu.resetCounters();
    const since = Date.now();
    // Several decision ticks and at least two periodic full reconciles (each re-lists the zone).
    await waitFor(
      async () => emu.calls.ListResourceRecordSets >= 2 && (await lastApply()) > since + 3_000,
      15_000,
      'steady-state reconciles',
    );
    expect(emu.calls.ChangeResourceRecordSets).toBe(0);
    expect(emu.batches).toEqual([]);
    expect((await status()).dns.failing).toBe(false);
  });

  it('throttling during a move is retried with backoff and the move lands', async () => {
    emu.resetCounters();
    emu.failNext(2, 'Throttling', 'ChangeResourceRecordSets');
    await gw.r4.stop();
    await waitFor(() => zoneWeights(emu)[API_R4]?.r4 === 0, 15_000, 'api.r4 split away in the zone');
    expect(zoneWeights(emu)[API_R4]).toEqual({ r1: 50, r2: 50, r4: 0 });
    expect(emu.calls.ChangeResourceRecordSets).toBe(3); // two throttled, one accepted
    expect(emu.batches).toHaveLength(1);
    expect(emu.batches[0]?.changes.map((c) => [c.set.setIdentifier, c.set.weight])).toEqual([
      ['r4', 0],
      ['r1', 50],
      ['r2', 50],
    ]);
    const m = await metrics();
    expect(m).toMatch(/switchyard_dns_api_retries_total\{operation="ChangeResourceRecordSets"\} 2\b/);
    expect(m).toMatch(
      /switchyard_dns_api_calls_total\{operation="ChangeResourceRecordSets",outcome="throttled"\} 2\b/,
    );
    expect(m).toMatch(/^switchyard_dns_api_failing 0$/m);
    expect(promtoolCheck(m).output).toBe('');
  });

  it('while Route 53 fails every call: probing and /v1/status go on, the alert is raised, and only the newest desired state is applied on recovery', async () => {
    // r4 comes back first (outside the outage), so that two regions at most are ever down at
    // once below: three of four would trip the panic guard, which freezes every move.
    await gw.r4.start();
    await waitFor(() => zoneWeights(emu)[API_R4]?.r4 === 100, 20_000, 'api.r4 back home in the zone');
    // The zone before the outage: api.r3 → r1 (r3 is down), everything else home.
    const before = { ...homeWeights(), [API_R3]: { r1: 100, r2: 0, r3: 0 } };
    await waitFor(() => isDeepStrictEqual(zoneWeights(emu), before), 5_000, 'zone settled');
    emu.resetCounters();
    emu.setOutage('ServiceUnavailable');

    // An intermediate desired state during the outage: r2's gateway goes down (api.r2 → r1).
    await gw.r2.stop();
    await waitFor(async () => (await desired(API_R2))?.r1 === 100, 15_000, 'engine wants api.r2 → r1');
    await waitFor(
      async () => /^switchyard_dns_api_failing 1$/m.test(await metrics()),
      20_000,
      'switchyard_dns_api_failing 1',
    );
    const failing = await status();
    expect(failing.dns.failing).toBe(true);
    expect(failing.dns.lastError).toMatch(/^DNS_UNAVAILABLE: Route 53 \w+ failed after \d attempt\(s\)/);
    expect(
      failing.regions.find((r) => r.id === 'r2')?.components.find((c) => c.name === 'gateway'),
    ).toMatchObject({ status: 'down' });
    expect(emu.batches).toEqual([]); // every call fails: nothing reaches the zone

    // The newest desired state: r2 comes back, and so does r3 (api.r3 returns home).
    await Promise.all([gw.r2.start(), gw.r3.start()]);
    await waitFor(
      async () => (await desired(API_R2))?.r2 === 100 && (await desired(API_R3))?.r3 === 100,
      20_000,
      'engine wants r2 and r3 home again',
    );
    // Probing went on the whole time: the status saw r2 go down and come back.
    const during = await status();
    expect(during.regions.find((r) => r.id === 'r2')?.components.every((c) => c.status === 'up')).toBe(true);
    expect(during.dns.failing).toBe(true);
    expect(emu.batches).toEqual([]);
    expect(emu.totalCalls()).toBeGreaterThan(0);
    expect(daemon.events().some((e) => e.msg === 'dns reconcile failed; will retry')).toBe(true);

    emu.setOutage(undefined);
    await waitFor(
      () => isDeepStrictEqual(zoneWeights(emu), homeWeights()),
      45_000,
      'zone = newest desired state',
    );
    await waitFor(
      async () => /^switchyard_dns_api_failing 0$/m.test(await metrics()),
      10_000,
      'alert cleared',
    );
    // One batch after recovery, from the pre-outage zone straight to the newest desired state
    // (api.r3 home). The intermediate state (api.r2 → r1) was never written.
    expect(emu.batches).toHaveLength(1);
    expect(emu.batches[0]?.changes.map((c) => [c.set.name, c.set.setIdentifier, c.set.weight])).toEqual([
      ['api.r3.example.com.', 'r3', 100],
      ['api.r3.example.com.', 'r1', 0],
    ]);
    expect((await status()).dns.failing).toBe(false);
    expect(daemon.events().some((e) => e.msg === 'dns API recovered')).toBe(true);
  });
});
