import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConfig } from '../../src/config/schema.js';
import type { StatusDocument } from '../../src/server/status.js';
import type { PersistedState } from '../../src/state/types.js';
import { DaemonProcess, waitFor } from './daemon-process.js';
import { EMULATOR_AWS_ENV, homeWeights, route53DnsConfig, writeE2eConfig } from './e2e-config.js';
import { EtcdCluster } from './etcd-cluster.js';
import { FakeEndpoint } from './fake-endpoint.js';
import { closedPort } from './http-fixtures.js';
import { type PgPair, startPgPair } from './pg-cluster.js';
import { Route53Emulator } from './route53-emulator.js';
import { seedE2eZone } from './route53-fixtures.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * Several switchyard instances as operators run them: child processes of the real CLI, one per
 * region, on a real three-member etcd cluster, probing real local endpoints (and a real
 * PostgreSQL pair) and writing Route 53 (the local emulator, through the real AWS SDK).
 *
 * Every instance reaches every region through its own TCP proxies (one per endpoint) and etcd
 * through proxies of its own too, so a test can cut one observer's links to one region, or one
 * instance's link to etcd, without touching the others.
 */

export const MULTI_TOKEN = 'multi-admin-token-0123456789abcdef';
export type Region = 'r1' | 'r2' | 'r3' | 'r4';
const REGIONS: readonly Region[] = ['r1', 'r2', 'r3', 'r4'];

export interface Observer {
  id: string;
  region: Region;
  daemon: DaemonProcess;
  /** Per region: the proxies of its gateway, key manager and database (as this observer sees them). */
  links: Record<Region, TcpProxy[]>;
  etcdLinks: TcpProxy[];
  configPath: string;
  status(): Promise<StatusDocument>;
  /** This observer can no longer reach `region` (connections reset). */
  cutRegion(region: Region): void;
  restoreRegion(region: Region): void;
  cutEtcd(): void;
  restoreEtcd(): void;
}

export interface MultiWorldOptions {
  name: string;
  /** The regions the instances run in (default r2, r3, r4: the main's loss leaves three observers). */
  observers?: Region[];
  /** policy overrides. */
  policy?: Record<string, unknown>;
  /** A hard fence for r1's database (e.g. a slow one, to kill the leader inside the failover). */
  r1HardFence?: DatabaseConfig['hardFence'];
  leaseTtl?: string;
  /** probes overrides (default interval 500ms, timeout 400ms, rise 2, fall 2). */
  probes?: Record<string, unknown>;
}

export class MultiWorld {
  etcd!: EtcdCluster;
  pg!: PgPair;
  emu!: Route53Emulator;
  readonly gw = {
    r1: new FakeEndpoint('gw-r1'),
    r2: new FakeEndpoint('gw-r2'),
    r3: new FakeEndpoint('gw-r3'),
    r4: new FakeEndpoint('gw-r4'),
  };
  readonly km = { r1: new FakeEndpoint('km-r1'), r2: new FakeEndpoint('km-r2') };
  readonly observers: Observer[] = [];
  private readonly proxies: TcpProxy[] = [];
  /** Wall time each emulator batch arrived, by index. */
  readonly batchTimes: number[] = [];
  private dir = '';

  static async start(opts: MultiWorldOptions): Promise<MultiWorld> {
    const w = new MultiWorld();
    try {
      await w.boot(opts);
    } catch (e) {
      await w.stop();
      throw e;
    }
    return w;
  }

  private async proxy(port: number): Promise<TcpProxy> {
    const p = new TcpProxy(port);
    await p.start();
    this.proxies.push(p);
    return p;
  }

  private async boot(opts: MultiWorldOptions): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), `sy-multi-${opts.name}-`));
    this.emu = new Route53Emulator({ insyncDelayMs: 100 });
    const [etcd, pg, endpoint] = await Promise.all([
      EtcdCluster.start(),
      startPgPair({ name: `multi-${opts.name}` }),
      this.emu.start(),
    ]);
    this.etcd = etcd;
    this.pg = pg;
    seedE2eZone(this.emu, homeWeights());
    this.emu.onBatch = () => this.batchTimes.push(Date.now());
    await Promise.all([...Object.values(this.gw), ...Object.values(this.km)].map((e) => e.start()));

    for (const region of opts.observers ?? (['r2', 'r3', 'r4'] as Region[])) {
      const id = `sy-${region}`;
      const links = {} as Record<Region, TcpProxy[]>;
      const via = async (e: FakeEndpoint) => {
        const p = await this.proxy(e.port);
        return { p, ep: { name: e.name, url: `http://127.0.0.1:${p.port}/health` } as FakeEndpoint };
      };
      const gw = {} as Record<Region, FakeEndpoint>;
      for (const r of REGIONS) {
        const { p, ep } = await via(this.gw[r]);
        gw[r] = ep;
        links[r] = [p];
      }
      const km = {} as Record<'r1' | 'r2', FakeEndpoint>;
      for (const r of ['r1', 'r2'] as const) {
        const { p, ep } = await via(this.km[r]);
        km[r] = ep;
        links[r].push(p);
      }
      const dbProxy = {
        r1: await this.proxy(pg.primary.port),
        r2: await this.proxy(pg.standby.port),
      };
      links.r1.push(dbProxy.r1);
      links.r2.push(dbProxy.r2);
      const etcdLinks = await Promise.all(etcd.members.map((m) => this.proxy(m.clientPort)));
      const cfgDir = join(this.dir, id);
      mkdirSync(cfgDir, { recursive: true });
      const cfg = writeE2eConfig(
        cfgDir,
        {
          gw,
          km,
          db: {
            r1: pg.primary.config({
              host: '127.0.0.1',
              port: dbProxy.r1.port,
              ...(opts.r1HardFence ? { hardFence: opts.r1HardFence } : {}),
            }),
            r2: pg.standby.config({ host: '127.0.0.1', port: dbProxy.r2.port }),
          },
        },
        {
          failAfter: '1s',
          recoverAfter: '4s',
          staleAfter: '3s',
          promotion: { mode: 'automatic', promoteAfter: '2s', maxLagSeconds: 10, maxLagBytes: '16MiB' },
          ...opts.policy,
        },
        {
          director: { id, region, observers: 3 },
          state: {
            store: 'etcd',
            etcd: {
              endpoints: etcdLinks.map((p) => `http://127.0.0.1:${p.port}`),
              prefix: `/sy-${opts.name}/`,
              leaseTtl: opts.leaseTtl ?? '3s',
              callTimeout: opts.leaseTtl === '2s' ? '600ms' : '800ms',
            },
          },
          dns: route53DnsConfig(endpoint, this.emu.zoneId, {
            route53: { maxRequestsPerSecond: 50, pollInterval: '100ms', requestTimeout: '2s' },
          }),
          probes: { interval: '500ms', timeout: '400ms', jitter: 0.1, rise: 2, fall: 2, ...opts.probes },
        },
      );
      const daemon = new DaemonProcess(
        cfg.path,
        `127.0.0.1:${await closedPort()}`,
        { ...EMULATOR_AWS_ENV, SY_E2E_TOKEN: MULTI_TOKEN },
        `127.0.0.1:${await closedPort()}`,
      ).start();
      const o: Observer = {
        id,
        region,
        daemon,
        links,
        etcdLinks,
        configPath: cfg.path,
        status: async () => JSON.parse((await daemon.get('/v1/status')).body) as StatusDocument,
        cutRegion: (r) => {
          for (const p of links[r]) p.cut();
        },
        restoreRegion: (r) => {
          for (const p of links[r]) p.restore();
        },
        cutEtcd: () => {
          for (const p of etcdLinks) p.cut();
        },
        restoreEtcd: () => {
          for (const p of etcdLinks) p.restore();
        },
      };
      this.observers.push(o);
    }
  }

  /** The observer that leads now, per the observers themselves (exactly one must say so). */
  async leader(): Promise<Observer | undefined> {
    const leaders: Observer[] = [];
    for (const o of this.observers) {
      if (o.daemon.exitCode !== null) continue;
      const s = await o.status().catch(() => undefined);
      if (s?.leader?.self) leaders.push(o);
    }
    if (leaders.length > 1)
      throw new Error(`two instances say they lead: ${leaders.map((l) => l.id).join(', ')}`);
    return leaders[0];
  }

  async waitLeader(timeoutMs = 20_000, not?: Observer): Promise<Observer> {
    let found: Observer | undefined;
    await waitFor(
      async () => {
        found = await this.leader();
        return found !== undefined && found !== not;
      },
      timeoutMs,
      'a leader',
    );
    return found as Observer;
  }

  /** Every live observer answers /readyz and sees every component up. */
  async waitAllUp(timeoutMs = 40_000): Promise<void> {
    for (const o of this.observers) await o.daemon.waitReady(timeoutMs);
    await waitFor(
      async () => {
        for (const o of this.observers) {
          const s = await o.status();
          if (!s.regions.every((r) => r.components.every((c) => c.status === 'up'))) return false;
        }
        return true;
      },
      timeoutMs,
      'every observer sees every component up',
    );
  }

  /** The state as etcd holds it. */
  async state(prefix: string): Promise<PersistedState> {
    const out = await this.etcd.etcdctl(['get', `${prefix}state`, '--print-value-only']);
    return JSON.parse(out.trim()) as PersistedState;
  }

  weights(key: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of this.emu.list())
      if (`${s.name.replace(/\.$/, '')}/${s.type}` === key && s.setIdentifier && s.weight !== undefined)
        out[s.setIdentifier] = s.weight;
    return out;
  }

  /** Every batch's writer and epoch, from the change comment ("switchyard sy-r2 epoch 1: …"). */
  writes(): Array<{ by: string; epoch: number; at: number; sets: string[] }> {
    return this.emu.batches.map((b, i) => {
      const m = /^switchyard (\S+) epoch (\d+):/.exec(b.comment ?? '');
      return {
        by: m?.[1] ?? '?',
        epoch: Number(m?.[2] ?? -1),
        at: this.batchTimes[i] ?? 0,
        sets: b.changes.map((c) => `${c.set.name.replace(/\.$/, '')}/${c.set.setIdentifier}=${c.set.weight}`),
      };
    });
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.observers.map((o) => o.daemon.stop('SIGKILL', 2_000)));
    for (const p of this.proxies) await p.close().catch(() => undefined);
    await Promise.allSettled([...Object.values(this.gw), ...Object.values(this.km)].map((e) => e.stop()));
    await this.emu?.stop().catch(() => undefined);
    await this.etcd?.stop().catch(() => undefined);
    await this.pg?.stop().catch(() => undefined);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Everything the observers logged (for failure messages). */
  logs(): string {
    return this.observers.map((o) => `--- ${o.id}\n${o.daemon.logs().slice(-6_000)}`).join('\n');
  }

  /** The file a test can read an observer's config from. */
  config(o: Observer): string {
    return readFileSync(o.configPath, 'utf8');
  }
}
