import { existsSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../src/config/schema.js';
import { DaemonProcess } from '../support/daemon-process.js';
import { writeE2eConfig } from '../support/e2e-config.js';
import { seedEndpoints } from '../support/fake-endpoint.js';
import { closedPort } from '../support/http-fixtures.js';

/**
 * Issue #8.10 and #8.15 through the real CLI: a listen address the daemon cannot use is an
 * operator's mistake, so `switchyard run` says what is wrong and exits 1 (EXIT.INVALID) at once,
 * with nothing left running. Before the fix a malformed or unusable `--listen` left a live
 * half-daemon (no server, DNS and cron running) and `--admin-listen` did not exist.
 * No database is needed: the daemon never gets as far as probing.
 */
const TOKEN = 'e2e-admin-token-0123456789';
const { gw, km } = seedEndpoints();
const started: DaemonProcess[] = [];
let taken: Server;
let takenPort = 0;
let db: { r1: DatabaseConfig; r2: DatabaseConfig };

beforeAll(async () => {
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.start()));
  const dbAt = async (): Promise<DatabaseConfig> =>
    ({
      engine: 'postgres',
      host: '127.0.0.1',
      port: await closedPort(),
      user: 'switchyard',
      password: 'env:SY_E2E_TOKEN',
      database: 'apim',
    }) as DatabaseConfig;
  db = { r1: await dbAt(), r2: await dbAt() };
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
  takenPort = (taken.address() as { port: number }).port;
});

afterAll(async () => {
  await Promise.all(started.map((d) => d.stop('SIGKILL', 2_000)));
  await Promise.all([...Object.values(gw), ...Object.values(km)].map((e) => e.stop()));
  taken?.close();
});

type Case = [what: string, listen: () => Promise<string>, admin: () => Promise<string>, message: RegExp];
const free = async () => `127.0.0.1:${await closedPort()}`;
const CASES: Case[] = [
  ['--listen is not host:port', async () => 'nonsense', free, /listen address "nonsense" is not host:port/],
  ['--listen has a port out of range', async () => '127.0.0.1:99999', free, /invalid port \(0–65535\)/],
  [
    '--listen names a host that does not resolve',
    async () => 'no-such-host.invalid:9464',
    free,
    /cannot listen on no-such-host\.invalid:9464 \(read-only listener\): ENOTFOUND/,
  ],
  ['--admin-listen is not host:port', free, async () => 'bad', /listen address "bad" is not host:port/],
  [
    '--admin-listen names a port that is taken',
    free,
    async () => `127.0.0.1:${takenPort}`,
    /cannot listen on 127\.0\.0\.1:\d+ \(admin listener\): EADDRINUSE .*--admin-listen/,
  ],
  [
    '--listen names a port that is taken',
    async () => `127.0.0.1:${takenPort}`,
    free,
    /cannot listen on 127\.0\.0\.1:\d+ \(read-only listener\): EADDRINUSE .*--listen/,
  ],
];

describe('8.10 a listen address the daemon cannot use', () => {
  for (const [what, listen, admin, message] of CASES)
    it(`${what}: a clear error on stderr, exit 1, nothing written`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'sy-safety-listen-'));
      const cfg = writeE2eConfig(dir, { gw, km, db });
      const d = new DaemonProcess(cfg.path, await listen(), { SY_E2E_TOKEN: TOKEN }, await admin()).start();
      started.push(d);
      const code = await d.waitExit(20_000);
      expect(code, d.logs()).toBe(1);
      const stderr = d
        .logs()
        .split('\n')
        .filter((l) => l.startsWith('switchyard: '));
      expect(stderr.join('\n'), d.logs()).toMatch(message);
      expect(d.logs()).not.toMatch(/^\s+at /m); // a message, not a stack trace
      expect(existsSync(cfg.dnsFile)).toBe(false); // nothing reached DNS
    });
});
