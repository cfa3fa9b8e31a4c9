import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DaemonProcess, waitFor } from '../support/daemon-process.js';
import { EMULATOR_AWS_ENV, homeWeights, route53DnsConfig, writeE2eConfig } from '../support/e2e-config.js';
import { seedEndpoints } from '../support/fake-endpoint.js';
import { closedPort } from '../support/http-fixtures.js';
import { type PgPair, startPgPair } from '../support/pg-cluster.js';
import { Route53Emulator } from '../support/route53-emulator.js';
import { seedE2eZone, zoneWeights } from '../support/route53-fixtures.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/**
 * Issue #8 with the real CLI (`switchyard run`, a child process), the real AWS SDK and the Route 53
 * emulator behind a TCP proxy the test stalls (connections accepted, nothing answered):
 * - 8.2: killed after the state save but before the Route 53 write landed, the restarted daemon
 *   applies the saved intent and never writes the old answer back;
 * - 8.4: SIGTERM while every Route 53 call hangs exits 0 within a few seconds.
 */
const TOKEN = 'e2e-safety-r53-token-0123456789';
const API_R3 = 'api.r3.example.com/A';
const API_R4 = 'api.r4.example.com/A';
const { gw, km } = seedEndpoints();
let pg: PgPair;
let emu: Route53Emulator;
let proxy: TcpProxy;
const started: DaemonProcess[] = [];

beforeAll(async () => {
  emu = new Route53Emulator({ insyncDelayMs: 100 });
  const [pair] = await Promise.all([startPgPair({ name: 'e2e-safety-r53' }), emu.start()]);
  pg = pair;
  proxy = new TcpProxy(Number(new URL(emu.endpoint).port));
  await proxy.start();
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.start()));
});

afterAll(async () => {
  await Promise.all(started.map((d) => d.stop('SIGKILL', 2_000)));
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.stop()));
  await proxy?.close();
  await emu?.stop();
  await pg?.stop();
});

beforeEach(() => {
  proxy.restore();
});

function config(): { path: string; stateFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sy-safety-r53-'));
  return writeE2eConfig(
    dir,
    { gw, km, db: { r1: pg.primary.config(), r2: pg.standby.config() } },
    { failAfter: '1s', recoverAfter: '60s' },
    { dns: route53DnsConfig(proxy.url, emu.zoneId, { route53: { maxRetries: 1 } }) },
  );
}

async function daemonOn(cfgPath: string): Promise<DaemonProcess> {
  const d = new DaemonProcess(cfgPath, `127.0.0.1:${await closedPort()}`, {
    ...EMULATOR_AWS_ENV,
    SY_E2E_TOKEN: TOKEN,
  }).start();
  started.push(d);
  return d;
}

const savedWeights = (stateFile: string, key: string): Record<string, number> | undefined => {
  try {
    const s = JSON.parse(readFileSync(stateFile, 'utf8')) as {
      engine: { weights: Record<string, Record<string, number>> };
    };
    return s.engine.weights[key];
  } catch {
    return undefined; // not written yet, or mid-rename
  }
};

describe('8.2 a kill between the state save and the Route 53 write', () => {
  it('with Route 53 stalled: the restarted daemon applies the saved intent and never writes the old answer back', async () => {
    seedE2eZone(emu, homeWeights());
    const cfg = config();
    const first = await daemonOn(cfg.path);
    await first.waitReady();
    expect(zoneWeights(emu)[API_R3]).toMatchObject({ r3: 100, r1: 0 });
    // Route 53 stops answering; r3's gateway stops: the move is saved, its write hangs.
    proxy.stall();
    const writesBefore = emu.calls.ChangeResourceRecordSets;
    await gw.r3.stop();
    await waitFor(() => savedWeights(cfg.stateFile, API_R3)?.r3 === 0, 15_000, 'the move saved');
    await new Promise((r) => setTimeout(r, 300)); // the write is on its way, into the stall
    first.signal('SIGKILL');
    await first.waitExit(5_000);
    // The write never landed: Route 53 still sends r3's traffic to r3.
    expect(emu.calls.ChangeResourceRecordSets).toBe(writesBefore);
    expect(zoneWeights(emu)[API_R3]).toMatchObject({ r3: 100 });

    // Restart on the same state, Route 53 answering again, r3 still down.
    proxy.restore();
    const batchesBefore = emu.batches.length;
    const second = await daemonOn(cfg.path);
    await waitFor(() => zoneWeights(emu)[API_R3]?.r3 === 0, 20_000, 'the saved intent applied').catch((e) => {
      throw new Error(`${(e as Error).message}\n${second.logs().slice(-3000)}`);
    });
    await second.waitReady();
    await new Promise((r) => setTimeout(r, 2_000));
    // No reversion: not one batch since the restart gave r3 its api traffic back.
    const reverted = emu.batches
      .slice(batchesBefore)
      .flatMap((b) => b.changes)
      .filter((c) => c.set.name.replace(/\.$/, '') === 'api.r3.example.com' && c.set.setIdentifier === 'r3')
      .filter((c) => (c.set.weight ?? 0) > 0);
    expect(reverted).toEqual([]);
    expect(zoneWeights(emu)[API_R3]).toMatchObject({ r3: 0, r1: 100 });
    expect(savedWeights(cfg.stateFile, API_R3)).toMatchObject({ r3: 0, r1: 100 });
    await second.stop();
    await gw.r3.start();
  });
});

describe('8.4 shutdown while Route 53 hangs', () => {
  it('SIGTERM with a Route 53 write hanging: the call is aborted after its 5 s grace and the daemon exits 0', async () => {
    seedE2eZone(emu, homeWeights());
    const cfg = config();
    const d = await daemonOn(cfg.path);
    await d.waitReady();
    proxy.stall();
    await gw.r4.stop();
    await waitFor(() => savedWeights(cfg.stateFile, API_R4)?.r4 === 0, 15_000, 'the move saved');
    await new Promise((r) => setTimeout(r, 500)); // the write hangs in the stall
    expect(proxy.openConnections()).toBeGreaterThan(0);
    const t0 = Date.now();
    d.signal('SIGTERM');
    const code = await d.waitExit(15_000);
    const ms = Date.now() - t0;
    expect(code, d.logs().slice(-3000)).toBe(0);
    // The DNS worker's shutdown grace is 5 s; before the fix SIGTERM waited for ever.
    expect(ms).toBeLessThan(7_000);
    expect(
      d.events().some((e) => /DNS call was still in flight at shutdown; aborting it/.test(String(e.msg))),
    ).toBe(true);
    expect(d.events().some((e) => e.event === 'stopped')).toBe(true);
    await gw.r4.start();
  });
});
