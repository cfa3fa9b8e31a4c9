import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Config } from '../../src/config/schema.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { demoConfig } from '../../src/demo/demo-config.js';
import { DemoWorld } from '../../src/demo/world.js';
import { createLogger } from '../../src/log.js';
import type { StatusDocument } from '../../src/server/status.js';
import type { PersistedState } from '../../src/state/types.js';

export const ALICE_TOKEN = 'alice-token-0123456789abcdef';
export const BOB_TOKEN = 'bob-token-0123456789abcdef';

/**
 * The real daemon, in this process, against the demo's simulated world (HTTP regions on
 * loopback, in-memory databases with positions), on free ports, with short timings. Two named
 * admin tokens (alice, bob). One per test file: cases share it and run in order.
 */
export class DemoDaemon {
  readonly world = new DemoWorld();
  readonly dir = mkdtempSync(join(tmpdir(), 'sy-demo-daemon-'));
  readonly logLines: string[] = [];
  daemon!: Daemon;
  addr = '';
  adminAddr = '';

  async start(tune: (c: Config) => void = () => {}): Promise<this> {
    process.env.SY_TEST_ALICE = ALICE_TOKEN;
    process.env.SY_TEST_BOB = BOB_TOKEN;
    process.env.SWITCHYARD_DEMO_DB_PASSWORD ??= 'unused';
    await this.world.start(0);
    const config = demoConfig(this.world, this.dir, '127.0.0.1:0', '127.0.0.1:0');
    config.admin.tokens = [
      { name: 'alice', token: 'env:SY_TEST_ALICE' },
      { name: 'bob', token: 'env:SY_TEST_BOB' },
    ];
    // Fast enough for a test, slow enough for two busy cores.
    config.probes.interval = 300;
    config.probes.timeout = 250;
    config.policy.failAfter = 700;
    config.policy.recoverAfter = 1_500;
    config.policy.promotion.promoteAfter = 1_500;
    config.policy.promotion.catchUpTimeout = 1_500;
    config.policy.promotion.mode = 'manual';
    tune(config);
    const lines = this.logLines;
    this.daemon = new Daemon({
      config,
      logger: createLogger({
        level: 'info',
        destination: new Writable({
          write(chunk, _enc, cb) {
            lines.push(String(chunk));
            cb();
          },
        }),
      }),
      databaseProbe: (t) => this.world.database(t.region, t.name).probe(),
      promoter: (region, key) => this.world.database(region, key).promoter(),
      evaluateIntervalMs: 300,
    });
    const a = await this.daemon.start();
    this.addr = `127.0.0.1:${a.port}`;
    this.adminAddr = `127.0.0.1:${a.admin?.port}`;
    return this;
  }

  /** SWITCHYARD_* for the CLI: read-only and admin addresses, and a token. */
  env(token: string | null = ALICE_TOKEN): NodeJS.ProcessEnv {
    return {
      SWITCHYARD_ADDR: this.addr,
      SWITCHYARD_ADMIN_ADDR: this.adminAddr,
      ...(token ? { SWITCHYARD_TOKEN: token } : {}),
    };
  }

  status(): Promise<StatusDocument> {
    return Promise.resolve(this.daemon.status());
  }

  state(): PersistedState {
    return JSON.parse(readFileSync(join(this.dir, 'state.json'), 'utf8')) as PersistedState;
  }

  dns(): Record<string, Record<string, number>> {
    const doc = JSON.parse(readFileSync(join(this.dir, 'dns.json'), 'utf8')) as {
      records: Record<string, Record<string, { weight: number }>>;
    };
    return Object.fromEntries(
      Object.entries(doc.records).map(([k, sets]) => [
        k,
        Object.fromEntries(Object.entries(sets).map(([r, s]) => [r, s.weight])),
      ]),
    );
  }

  events(): Array<Record<string, unknown>> {
    return this.logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async waitReady(timeoutMs = 15_000): Promise<void> {
    await until(async () => (await this.status()).director.ready, timeoutMs, 'daemon ready');
  }

  async stop(): Promise<void> {
    await this.daemon?.stop('test done');
    await this.world.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` every 100 ms until it holds; fails with `what` after `timeoutMs`. */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A demo daemon started and ready, with every component of every region seen up. */
export async function startDemoAllUp(): Promise<DemoDaemon> {
  const d = await new DemoDaemon().start();
  await d.waitReady();
  await until(
    async () => (await d.status()).regions.every((r) => r.components.every((c) => c.status === 'up')),
    15_000,
    'all up',
  );
  return d;
}
