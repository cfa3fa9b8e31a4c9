import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../src/config/schema.js';
import type { StatusDocument } from '../../src/server/status.js';
import { type BlackHole, startBlackHole } from '../support/black-hole.js';
import { DaemonProcess, dnsWeights, waitFor } from '../support/daemon-process.js';
import {
  E2E_RECORDS,
  EMULATOR_AWS_ENV,
  homeWeights,
  route53DnsConfig,
  writeE2eConfig,
} from '../support/e2e-config.js';
import { seedEndpoints } from '../support/fake-endpoint.js';
import { closedPort } from '../support/http-fixtures.js';
import { type PgPair, startPgPair } from '../support/pg-cluster.js';

/**
 * Issue #8 through the real CLI as operators run it (`switchyard run`, a child process), black-box:
 * each case failed on the code before the fix. One real PostgreSQL pair serves every case.
 */
const TOKEN = 'e2e-admin-token-0123456789';
const { gw, km } = seedEndpoints();
let hole: BlackHole;
let db: { r1: DatabaseConfig; r2: DatabaseConfig };
const started: DaemonProcess[] = [];

function dnsDoc(weights: Record<string, Record<string, number>>): string {
  const records: Record<string, Record<string, unknown>> = {};
  for (const r of E2E_RECORDS) {
    const key = `${r.name}/A`;
    records[key] = Object.fromEntries(
      Object.entries(r.targets).map(([region, ip]) => [
        region,
        {
          name: r.name,
          type: 'A',
          setIdentifier: region,
          weight: weights[key]?.[region] ?? 0,
          ttl: 60,
          values: [ip],
        },
      ]),
    );
  }
  return `${JSON.stringify({ version: 1, updatedAt: new Date(0).toISOString(), records }, null, 2)}\n`;
}

async function daemonOn(cfgPath: string, env: NodeJS.ProcessEnv = {}): Promise<DaemonProcess> {
  const d = new DaemonProcess(cfgPath, `127.0.0.1:${await closedPort()}`, {
    SY_E2E_TOKEN: TOKEN,
    ...env,
  }).start();
  started.push(d);
  return d;
}

let pg: PgPair;

beforeAll(async () => {
  hole = await startBlackHole();
  pg = await startPgPair({ name: 'e2e-safety' });
  db = { r1: pg.primary.config(), r2: pg.standby.config() };
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.start()));
});

afterAll(async () => {
  await Promise.all(started.map((d) => d.stop('SIGKILL', 2_000)));
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.stop()));
  await hole?.close();
  await pg?.stop();
});

describe('8.1 a restart after a failover', () => {
  it('moves no record while every component is still unknown', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-safety-restart-'));
    // rise 4: every component stays unknown for two seconds after the daemon is up.
    const cfg = writeE2eConfig(
      dir,
      { gw, km, db },
      { failAfter: '1s', recoverAfter: '20s' },
      { probes: { interval: '500ms', timeout: '450ms', jitter: 0.1, rise: 4, fall: 3 } },
    );
    // What the daemon left behind after promoting r2: r1 held out of api, auth and management on r2.
    const weights = homeWeights();
    weights['api.r1.example.com/A'] = { r1: 0, r2: 100 };
    weights['auth.r1.example.com/A'] = { r1: 0, r2: 100 };
    weights['manage.example.com/A'] = { r1: 0, r2: 100 };
    writeFileSync(
      cfg.stateFile,
      JSON.stringify({
        version: 1,
        engine: { epoch: 1, main: 'r2', out: { r1: ['api'] }, weights },
        overrides: { drained: [], frozen: false, routes: {} },
        journal: [],
      }),
    );
    writeFileSync(cfg.dnsFile, dnsDoc(weights));
    const before = readFileSync(cfg.dnsFile, 'utf8');
    const d = await daemonOn(cfg.path);
    // From the moment the daemon answers (its loop starts then), watch the DNS document for a
    // second: no target has met `rise` yet, so nothing is known and nothing may move.
    await waitFor(
      async () => (await d.get('/healthz').catch(() => ({ status: 0 }))).status === 200,
      15_000,
      '/healthz',
    );
    const end = Date.now() + 1_000;
    while (Date.now() < end) {
      expect(dnsWeights(cfg.dnsFile)['auth.r1.example.com/A']).toEqual({ r1: 0, r2: 100 });
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(readFileSync(cfg.dnsFile, 'utf8')).toBe(before);
    await d.stop();
  });
});

describe('8.2 intent first, on a full disk', () => {
  const mnt = join(tmpdir(), `sy-safety-tmpfs-${process.pid}`);
  let mounted = false;
  beforeAll(() => {
    mkdirSync(mnt, { recursive: true });
    // CI runs as root; the state directory is a tiny tmpfs that the test fills up.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mnt]);
    mounted = true;
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  it('DNS does not move while the state cannot be saved; the alert is raised; the save is retried and applied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-safety-disk-'));
    const cfg = writeE2eConfig(
      dir,
      { gw, km, db },
      { failAfter: '1s', recoverAfter: '20s' },
      { state: { store: 'file', path: join(mnt, 'state.json') } },
    );
    const d = await daemonOn(cfg.path);
    await d.waitReady();
    await waitFor(
      () => dnsWeights(cfg.dnsFile)['api.r3.example.com/A']?.r3 === 100,
      10_000,
      'api.r3 at home',
    );
    // Fill the filesystem: the next save fails with ENOSPC.
    const filler = join(mnt, 'filler');
    try {
      writeFileSync(filler, Buffer.alloc(1024 * 1024));
    } catch {
      // ENOSPC after writing what fits: the disk is full, as wanted.
    }
    await gw.r3.stop();
    try {
      await waitFor(
        async () => {
          const s = JSON.parse((await d.get('/v1/status')).body) as StatusDocument;
          return s.alerts.some((a) => a.kind === 'state-unwritable');
        },
        10_000,
        'the state-unwritable alert',
      ).catch((e) => {
        throw new Error(`${(e as Error).message}\n${d.logs().slice(-4000)}`);
      });
      await new Promise((r) => setTimeout(r, 2_000)); // well past failAfter
      expect(dnsWeights(cfg.dnsFile)['api.r3.example.com/A']).toMatchObject({ r3: 100, r1: 0 });
      const metrics = (await d.get('/metrics')).body;
      expect(metrics).toMatch(/^switchyard_state_unwritable 1$/m);
      expect(d.events().some((e) => e.event === 'state-unwritable')).toBe(true);
      // Space again: the retried save succeeds and only then does DNS move.
      rmSync(filler, { force: true });
      await waitFor(() => dnsWeights(cfg.dnsFile)['api.r3.example.com/A']?.r3 === 0, 10_000, 'api.r3 moved');
      const saved = JSON.parse(readFileSync(join(mnt, 'state.json'), 'utf8')) as {
        engine: { weights: Record<string, Record<string, number>> };
      };
      expect(saved.engine.weights['api.r3.example.com/A']).toMatchObject({ r3: 0, r1: 100 });
    } finally {
      await gw.r3.start();
      await d.stop();
    }
  });
});

describe('8.3 state that contradicts the configuration', () => {
  for (const [what, engine, field] of [
    ['main is an edge region', { epoch: 1, main: 'r3' }, /engine\.main: "r3" is an edge region/],
    ['main r2 at epoch 0', { epoch: 0, main: 'r2' }, /engine\.epoch: 0 with main "r2"/],
  ] as const)
    it(`${what}: refuses to start with STATE_CORRUPT naming the field, and acts on nothing`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sy-safety-corrupt-'));
      const cfg = writeE2eConfig(dir, { gw, km, db });
      writeFileSync(
        cfg.stateFile,
        JSON.stringify({
          version: 1,
          engine: { ...engine, out: {}, weights: homeWeights() },
          overrides: { drained: [], frozen: false, routes: {} },
          journal: [],
        }),
      );
      writeFileSync(cfg.dnsFile, dnsDoc(homeWeights()));
      const before = readFileSync(cfg.dnsFile, 'utf8');
      const d = await daemonOn(cfg.path);
      const code = await d.waitExit(15_000);
      expect(code).toBe(1);
      expect(d.logs()).toMatch(/STATE_CORRUPT/);
      expect(d.logs()).toMatch(field);
      expect(readFileSync(cfg.dnsFile, 'utf8')).toBe(before);
    });
});

describe('8.10 a failed start leaves nothing running', () => {
  let taken: Server;
  afterAll(() => taken?.close());
  it('the listen port is taken: exits non-zero at once, saying what and how to fix it', async () => {
    taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    const port = (taken.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'sy-safety-port-'));
    const cfg = writeE2eConfig(dir, { gw, km, db });
    const d = new DaemonProcess(cfg.path, `127.0.0.1:${port}`, { SY_E2E_TOKEN: TOKEN }).start();
    started.push(d);
    const code = await d.waitExit(15_000);
    expect(code).not.toBe(0);
    expect(d.logs()).toMatch(/EADDRINUSE/);
    expect(d.logs()).toMatch(/--listen/);
  });
});

describe('8.13 Route 53 not answering at start', () => {
  it('/healthz answers at once; /readyz says why it is not ready', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-safety-r53-'));
    const cfg = writeE2eConfig(
      dir,
      { gw, km, db },
      {},
      { dns: route53DnsConfig(`http://${hole.host}:${hole.port}`, 'Z0HOLE', { route53: { maxRetries: 1 } }) },
    );
    const d = await daemonOn(cfg.path, EMULATOR_AWS_ENV);
    const t0 = Date.now();
    await waitFor(
      async () => (await d.get('/healthz').catch(() => ({ status: 0 }))).status === 200,
      10_000,
      '/healthz',
    );
    const healthzAfter = Date.now() - t0;
    // Process start (tsx) included; before the fix this took over 15 s.
    expect(healthzAfter).toBeLessThan(8_000);
    const ready = await d.get('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatch(/not ready: (first probe round not done|live DNS not read yet)/);
    await waitFor(
      async () => /live DNS not read yet/.test((await d.get('/readyz')).body),
      10_000,
      'the DNS reason',
    );
    await d.stop();
  });
});
