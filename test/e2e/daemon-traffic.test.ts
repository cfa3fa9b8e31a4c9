import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../../src/server/status.js';
import { cliAsync } from '../support/cli.js';
import { DaemonProcess, dnsWeights, waitFor } from '../support/daemon-process.js';
import { writeE2eConfig } from '../support/e2e-config.js';
import { seedEndpoints } from '../support/fake-endpoint.js';
import { closedPort } from '../support/http-fixtures.js';
import { type PgPair, startPgPair } from '../support/pg-cluster.js';
import { promtoolCheck } from '../support/promtool.js';

/**
 * The daemon as operators run it: a child process of the real CLI, probing real local HTTP
 * endpoints and a real PostgreSQL pair, writing the file DNS provider's document.
 */
const TOKEN = 'e2e-admin-token-0123456789';
let pg: PgPair;
let daemon: DaemonProcess;
let dnsFile: string;
let stateFile: string;
const { gw, km } = seedEndpoints();
const API_R3 = 'api.r3.example.com/A';

beforeAll(async () => {
  pg = await startPgPair({ name: 'e2e-traffic' });
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.start()));
  const dir = mkdtempSync(join(tmpdir(), 'sy-e2e-'));
  const cfg = writeE2eConfig(dir, { gw, km, db: { r1: pg.primary.config(), r2: pg.standby.config() } });
  dnsFile = cfg.dnsFile;
  stateFile = cfg.stateFile;
  daemon = new DaemonProcess(
    cfg.path,
    `127.0.0.1:${await closedPort()}`,
    { SY_E2E_TOKEN: TOKEN },
    `127.0.0.1:${await closedPort()}`,
  ).start();
  await daemon.waitReady();
});

afterAll(async () => {
  await daemon?.stop();
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.stop()));
  await pg?.stop();
});

const status = async () => JSON.parse((await daemon.get('/v1/status')).body) as StatusDocument;

describe('switchyard run', () => {
  it('starts serving every name at home and reports ready', async () => {
    await waitFor(() => dnsWeights(dnsFile)[API_R3]?.r3 === 100, 10_000, 'initial DNS document');
    expect(dnsWeights(dnsFile)[API_R3]).toEqual({ r1: 0, r2: 0, r3: 100 });
    expect(dnsWeights(dnsFile)['manage.example.com/A']).toEqual({ r1: 100, r2: 0 });
    // Ready means every target was probed once; databases are up after `rise` (2) results.
    await waitFor(
      async () => (await status()).regions.every((r) => r.components.every((c) => c.status === 'up')),
      10_000,
      'all up',
    );
    const s = await status();
    expect(s.main).toBe('r1');
    expect(s.director.ready).toBe(true);
    const r1 = s.regions.find((r) => r.id === 'r1');
    expect(r1?.components.find((c) => c.name === 'database.apim')).toMatchObject({
      status: 'up',
      role: 'primary',
      writable: true,
    });
    const r2 = s.regions.find((r) => r.id === 'r2');
    expect(r2?.components.find((c) => c.name === 'database.apim')).toMatchObject({
      status: 'up',
      role: 'replica',
      writable: false,
    });
  });

  it('a gateway that stops: traffic moves; when it comes back, traffic returns only after recoverAfter', async () => {
    await gw.r3.stop();
    await waitFor(() => dnsWeights(dnsFile)[API_R3]?.r1 === 100, 10_000, 'api.r3 moved to r1');
    expect(dnsWeights(dnsFile)[API_R3]).toEqual({ r1: 0 + 100, r2: 0, r3: 0 });
    const s = await status();
    expect(s.regions.find((r) => r.id === 'r3')).toMatchObject({ serving: { api: false } });
    expect(s.regions.find((r) => r.id === 'r3')?.components[0]).toMatchObject({
      name: 'gateway',
      status: 'down',
    });
    expect(s.records.find((r) => r.key === API_R3)?.weights).toEqual({ r1: 100, r2: 0, r3: 0 });
    expect(s.decisions[0]?.reasons.join('\n')).toMatch(/r3: gateway down for .* api traffic leaves r3/);

    await gw.r3.start();
    const back = Date.now();
    await waitFor(() => dnsWeights(dnsFile)[API_R3]?.r3 === 100, 15_000, 'api.r3 back home');
    // Up after rise (2 × 500ms), then held for recoverAfter (3s): never sooner.
    expect(Date.now() - back).toBeGreaterThanOrEqual(3_000);
    const events = daemon.events();
    expect(events.some((e) => e.event === 'health' && e.id === 'r3.gateway' && e.to === 'down')).toBe(true);
    expect(events.some((e) => e.event === 'health' && e.id === 'r3.gateway' && e.to === 'up')).toBe(true);
  });

  it('operator commands through the CLI: status, drain with a token, refusal without one', async () => {
    const env = { SWITCHYARD_ADDR: daemon.addr, SWITCHYARD_ADMIN_ADDR: daemon.adminAddr };
    const st = await cliAsync(['status'], { env });
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/r1/);
    expect((await cliAsync(['drain', 'r4'], { env })).code).toBe(4);
    const drained = await cliAsync(['drain', 'r4'], { env: { ...env, SWITCHYARD_TOKEN: TOKEN } });
    expect(drained.code).toBe(0);
    await waitFor(() => dnsWeights(dnsFile)['api.r4.example.com/A']?.r4 === 0, 5_000, 'api.r4 split away');
    expect(dnsWeights(dnsFile)['api.r4.example.com/A'], JSON.stringify(await status())).toEqual({
      r1: 50,
      r2: 50,
      r4: 0,
    });
    expect((await cliAsync(['undrain', 'r4'], { env: { ...env, SWITCHYARD_TOKEN: TOKEN } })).code).toBe(0);
    await waitFor(() => dnsWeights(dnsFile)['api.r4.example.com/A']?.r4 === 100, 5_000, 'api.r4 home');
    expect(daemon.logs()).not.toContain(TOKEN);
  });

  it('serves metrics that promtool accepts', async () => {
    const m = await daemon.get('/metrics');
    expect(m.status).toBe(200);
    expect(promtoolCheck(m.body).output).toBe('');
    expect(m.body).toMatch(/switchyard_main_region\{region="r1"\} 1/);
    expect(m.body).toMatch(/switchyard_probe_success\{target="r3\.gateway\.gw-r3"\} 1/);
  });

  it('stops cleanly on SIGTERM and leaves valid state behind', async () => {
    const code = await daemon.stop('SIGTERM');
    expect(code).toBe(0);
    const state = JSON.parse(readFileSync(stateFile, 'utf8'));
    expect(state).toMatchObject({ version: 1, engine: { main: 'r1', epoch: 0 } });
    expect(daemon.events().some((e) => e.event === 'stopped')).toBe(true);
  });
});
