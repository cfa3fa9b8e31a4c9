import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConfig } from '../../src/config/schema.js';
import type { StatusDocument } from '../../src/server/status.js';
import type { PersistedState } from '../../src/state/types.js';
import { DaemonProcess, dnsWeights, waitFor } from './daemon-process.js';
import { writeE2eConfig } from './e2e-config.js';
import { FakeEndpoint } from './fake-endpoint.js';
import { closedPort } from './http-fixtures.js';

/**
 * The e2e failover world: fake gateways and key managers for the seed's four regions, the daemon
 * as a child process of the real CLI, the file DNS provider, and databases supplied by the test
 * (real PostgreSQL or MariaDB pairs). Promotion is automatic with a short promoteAfter unless the
 * test says otherwise.
 */
export const E2E_TOKEN = 'e2e-admin-token-failover-0123456789';
export const MANAGE = 'manage.example.com/A';
export const AUTH_R1 = 'auth.r1.example.com/A';
export const API_R1 = 'api.r1.example.com/A';

export interface WorldOptions {
  db: { r1: DatabaseConfig; r2: DatabaseConfig };
  policy?: Record<string, unknown>;
  promotion?: Record<string, unknown>;
  /** Replaces regions r1/r2 databases (several databases per region). */
  databases?: { r1: Record<string, DatabaseConfig>; r2: Record<string, DatabaseConfig> };
  probes?: Record<string, unknown>;
  /** Use the database configs as given (no short probe timings): the bench's default profile. */
  rawDatabases?: boolean;
}

export class FailoverWorld {
  readonly gw = {
    r1: new FakeEndpoint('gw-r1'),
    r2: new FakeEndpoint('gw-r2'),
    r3: new FakeEndpoint('gw-r3'),
    r4: new FakeEndpoint('gw-r4'),
  };
  readonly km = { r1: new FakeEndpoint('km-r1'), r2: new FakeEndpoint('km-r2') };
  readonly dir = mkdtempSync(join(tmpdir(), 'sy-e2e-fo-'));
  configPath = '';
  dnsFile = '';
  stateFile = '';
  addr = '';
  adminAddr = '';
  daemon: DaemonProcess | undefined;
  /** Every daemon started, so logs of a killed one stay readable. */
  readonly daemons: DaemonProcess[] = [];

  async start(opts: WorldOptions): Promise<this> {
    await Promise.all(this.endpoints().map((e) => e.start()));
    const dbs =
      opts.databases ??
      (opts.rawDatabases ? { r1: { apim: opts.db.r1 }, r2: { apim: opts.db.r2 } } : undefined);
    const timing = opts.rawDatabases ? asYamlDurations : dbTiming;
    const regions = dbs
      ? {
          regions: {
            r1: {
              role: 'main',
              gateway: { checks: [{ name: 'gw-r1', http: { url: this.gw.r1.url } }] },
              keyManager: { checks: [{ name: 'km-r1', http: { url: this.km.r1.url } }] },
              databases: mapValues(dbs.r1, timing),
            },
            r2: {
              role: 'failover',
              gateway: { checks: [{ name: 'gw-r2', http: { url: this.gw.r2.url } }] },
              keyManager: { checks: [{ name: 'km-r2', http: { url: this.km.r2.url } }] },
              databases: mapValues(dbs.r2, timing),
            },
            r3: {
              role: 'edge',
              failover: ['r1', 'r2'],
              gateway: { checks: [{ name: 'gw-r3', http: { url: this.gw.r3.url } }] },
            },
            r4: {
              role: 'edge',
              failover: { split: { r1: 50, r2: 50 } },
              gateway: { checks: [{ name: 'gw-r4', http: { url: this.gw.r4.url } }] },
            },
          },
        }
      : {};
    const cfg = writeE2eConfig(
      this.dir,
      { gw: this.gw, km: this.km, db: opts.db },
      {
        failAfter: '1s',
        recoverAfter: '3s',
        staleAfter: '5s',
        promotion: {
          mode: 'automatic',
          promoteAfter: '3s',
          maxLagSeconds: 10,
          maxLagBytes: '16MiB',
          catchUpTimeout: '10s',
          ...opts.promotion,
        },
        ...opts.policy,
      },
      { ...regions, ...(opts.probes ? { probes: opts.probes } : {}) },
    );
    this.configPath = cfg.path;
    this.dnsFile = cfg.dnsFile;
    this.stateFile = cfg.stateFile;
    this.addr = `127.0.0.1:${await closedPort()}`;
    this.adminAddr = `127.0.0.1:${await closedPort()}`;
    return this;
  }

  endpoints(): FakeEndpoint[] {
    return [...Object.values(this.gw), ...Object.values(this.km)];
  }

  /** Starts the daemon (again, after a stop or kill: same config, state file and address). */
  async startDaemon(ready = true): Promise<DaemonProcess> {
    const d = new DaemonProcess(
      this.configPath,
      this.addr,
      { SY_E2E_TOKEN: E2E_TOKEN },
      this.adminAddr,
    ).start();
    this.daemon = d;
    this.daemons.push(d);
    if (ready) await d.waitReady(45_000);
    return d;
  }

  get env(): NodeJS.ProcessEnv {
    return { SWITCHYARD_ADDR: this.addr, SWITCHYARD_ADMIN_ADDR: this.adminAddr, SWITCHYARD_TOKEN: E2E_TOKEN };
  }

  async status(): Promise<StatusDocument> {
    const d = this.daemon;
    if (!d) throw new Error('no daemon');
    return JSON.parse((await d.get('/v1/status')).body) as StatusDocument;
  }

  async metrics(): Promise<string> {
    return (await this.daemon?.get('/metrics'))?.body ?? '';
  }

  weights(key: string): Record<string, number> | undefined {
    return dnsWeights(this.dnsFile)[key];
  }

  state(): PersistedState {
    return JSON.parse(readFileSync(this.stateFile, 'utf8')) as PersistedState;
  }

  writeState(s: PersistedState): void {
    writeFileSync(this.stateFile, `${JSON.stringify(s, null, 2)}\n`);
  }

  /** Waits until every component of r1 and r2 is up (databases after `rise` results). */
  async waitAllUp(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      async () => (await this.status()).regions.every((r) => r.components.every((c) => c.status === 'up')),
      timeoutMs,
      'every component up',
      200,
    );
  }

  /** Stops the main region's gateway and key manager (its databases are the test's to kill). */
  async stopR1Endpoints(): Promise<void> {
    await Promise.all([this.gw.r1.stop(), this.km.r1.stop()]);
  }

  logs(): string {
    return this.daemons.map((d, i) => `--- daemon #${i + 1}\n${d.logs()}`).join('\n');
  }

  async close(): Promise<void> {
    for (const d of this.daemons) await d.stop('SIGTERM', 10_000).catch(() => undefined);
    await Promise.all(this.endpoints().map((e) => e.stop()));
  }
}

function dbTiming(c: DatabaseConfig): DatabaseConfig & Record<string, unknown> {
  return { ...c, connectTimeout: '1s', statementTimeout: '1s', timeout: '900ms', interval: '1s' } as never;
}

/** The harness's configs carry parsed durations (ms numbers); the YAML config takes "3000ms". */
function asYamlDurations(c: DatabaseConfig): Record<string, unknown> {
  const ms = (v: unknown) => (typeof v === 'number' ? `${v}ms` : v);
  return { ...c, connectTimeout: ms(c.connectTimeout), statementTimeout: ms(c.statementTimeout) };
}

function mapValues<T, U>(o: Record<string, T>, f: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v)]));
}

/** Polls a SQL write until it succeeds; returns when it first did (Date.now()). */
export async function waitWritable(
  write: () => Promise<unknown>,
  timeoutMs: number,
  what: string,
): Promise<number> {
  await waitFor(
    async () => {
      await write();
      return true;
    },
    timeoutMs,
    what,
    100,
  );
  return Date.now();
}

/** A line of the daemon's NDJSON log has appeared matching `pred`. */
export function hasEvent(d: DaemonProcess, pred: (e: Record<string, unknown>) => boolean): boolean {
  try {
    return d.events().some(pred);
  } catch {
    // A line being written may be cut in half: the next poll sees it whole.
    return false;
  }
}
