import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../../src/server/status.js';
import { DaemonProcess, waitFor } from '../support/daemon-process.js';
import { EMULATOR_AWS_ENV, homeWeights, route53DnsConfig, writeE2eConfig } from '../support/e2e-config.js';
import { seedEndpoints } from '../support/fake-endpoint.js';
import { closedPort } from '../support/http-fixtures.js';
import { type PgPair, startPgPair } from '../support/pg-cluster.js';
import { Route53Emulator } from '../support/route53-emulator.js';
import { seedE2eZone, zoneWeights } from '../support/route53-fixtures.js';

/**
 * The daemon (child process, real CLI `run`) with `dns.provider: route53` against the emulator:
 * `--dry-run` reads the zone and logs the changes it would make, but writes nothing; a record at a
 * managed name that is not a weighted set switchyard owns stops the daemon at start.
 */
const TOKEN = 'e2e-route53-start-token-0123456789';
let pg: PgPair;
const daemons: DaemonProcess[] = [];
const emulators: Route53Emulator[] = [];
const { gw, km } = seedEndpoints();
const API_R3 = 'api.r3.example.com/A';
const API_R4 = 'api.r4.example.com/A';

beforeAll(async () => {
  pg = await startPgPair({ name: 'e2e-route53-start' });
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.start()));
});

afterAll(async () => {
  for (const d of daemons) await d.stop();
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.stop()));
  for (const e of emulators) await e.stop();
  await pg?.stop();
});

async function startEmulator(): Promise<Route53Emulator> {
  const emu = new Route53Emulator({ insyncDelayMs: 100 });
  emulators.push(emu);
  await emu.start();
  return emu;
}

async function startDaemon(emu: Route53Emulator, args: string[] = []): Promise<DaemonProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-e2e-r53s-'));
  const cfg = writeE2eConfig(
    dir,
    { gw, km, db: { r1: pg.primary.config(), r2: pg.standby.config() } },
    {},
    { dns: route53DnsConfig(emu.endpoint, emu.zoneId, { reconcile: '*/2 * * * * *' }) },
  );
  const d = new DaemonProcess(cfg.path, `127.0.0.1:${await closedPort()}`, {
    ...EMULATOR_AWS_ENV,
    SY_E2E_TOKEN: TOKEN,
  }).start(args);
  daemons.push(d);
  return d;
}

/** The `changes` of every "dns changes (dry-run)" log event, in order. */
function dryRunChanges(d: DaemonProcess): string[][] {
  return d
    .events()
    .filter((e) => e.msg === 'dns changes (dry-run)')
    .map((e) => e.changes as string[]);
}

describe('switchyard run with dns.provider route53: start-up', () => {
  it('--dry-run reads the zone, logs every change it would make, and sends no write', async () => {
    const emu = await startEmulator();
    // The zone is off what a healthy engine wants: api.r3 points at r1.
    const seeded = { ...homeWeights(), [API_R3]: { r1: 100, r2: 0, r3: 0 } };
    seedE2eZone(emu, seeded);
    const d = await startDaemon(emu, ['--dry-run']);
    await d.waitReady();
    const status = async () => JSON.parse((await d.get('/v1/status')).body) as StatusDocument;
    expect((await status()).dns).toMatchObject({ provider: 'route53', dryRun: true });

    await waitFor(
      () => dryRunChanges(d).some((c) => c.includes(`${API_R3} r3=100`) && c.includes(`${API_R3} r1=0`)),
      15_000,
      'dry-run log of api.r3 going home',
    );
    // A move while in dry-run is logged as well, and still not written.
    await waitFor(
      async () => (await status()).regions.every((r) => r.components.every((c) => c.status === 'up')),
      15_000,
      'all components up',
    );
    await gw.r4.stop();
    await waitFor(
      () => dryRunChanges(d).some((c) => c.includes(`${API_R4} r4=0`) && c.includes(`${API_R4} r1=50`)),
      15_000,
      'dry-run log of api.r4 split away',
    );
    await gw.r4.start();
    expect(emu.calls.ListResourceRecordSets).toBeGreaterThanOrEqual(1);
    expect(emu.calls.ChangeResourceRecordSets).toBe(0);
    expect(emu.batches).toEqual([]);
    expect(zoneWeights(emu)).toEqual(seeded);
    const started = d.events().find((e) => e.event === 'started');
    expect(started).toMatchObject({ dryRun: true });
    expect(await d.stop()).toBe(0);
    expect(emu.calls.ChangeResourceRecordSets).toBe(0);
  });

  it('a non-weighted record at a managed name: refuses at start with DNS_OWNERSHIP, exits non-zero, leaves it alone', async () => {
    const emu = await startEmulator();
    // manage.example.com is a plain (simple routing) A record created by someone else.
    seedE2eZone(emu, homeWeights(), ['manage.example.com']);
    const foreign = { name: 'manage.example.com.', type: 'A', ttl: 300, values: ['198.51.100.7'] };
    emu.seed(foreign);
    const before = emu.list();
    const d = await startDaemon(emu);
    await waitFor(() => d.exitCode !== null, 30_000, 'daemon exits');
    expect(d.exitCode).toBe(1);
    const fatal = d.events().find((e) => e.event === 'fatal');
    expect(fatal).toMatchObject({ code: 'DNS_OWNERSHIP' });
    expect(String(fatal?.msg)).toMatch(/refusing to manage hosted zone Z0EMULATOR/);
    expect(d.logs()).toMatch(
      /manage\.example\.com\/A: live record uses simple routing, not weighted; switchyard will not change it/,
    );
    expect(emu.calls.ChangeResourceRecordSets).toBe(0);
    expect(emu.list()).toEqual(before);
    expect(emu.find('manage.example.com', 'A')).toEqual(foreign);
  });
});
