import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../src/daemon/daemon.js';
import { realProbeFactory } from '../../src/daemon/probes.js';
import { demoConfig } from '../../src/demo/demo-config.js';
import { DemoWorld } from '../../src/demo/world.js';
import { silentLogger } from '../../src/log.js';
import type { StatusDocument } from '../../src/server/status.js';
import { EtcdCluster } from './etcd-cluster.js';
import { waitFor } from './proc.js';

/**
 * Several real daemons (in this process) on a real three-member etcd cluster, one per region,
 * all probing the demo world over loopback HTTP — each instance an observer in its region, one
 * of them the leader. For tests that need what only etcd mode shows: the leader and its lease,
 * every observer's view, the coordination metrics.
 */
export interface EtcdDemoInstance {
  id: string;
  region: string;
  daemon: Daemon;
  /** http://127.0.0.1:<read-only port> */
  origin: string;
  status(): Promise<StatusDocument>;
  metrics(): Promise<string>;
}

export interface EtcdDemoDaemons {
  etcd: EtcdCluster;
  world: DemoWorld;
  instances: EtcdDemoInstance[];
  /** Waits until exactly one instance leads and every one knows it and sees every observer. */
  settled(timeoutMs?: number): Promise<EtcdDemoInstance>;
  stop(): Promise<void>;
}

export async function startEtcdDemoDaemons(
  opts: { regions?: string[]; name?: string } = {},
): Promise<EtcdDemoDaemons> {
  process.env.SWITCHYARD_DEMO_TOKEN ??= 'demo-token';
  process.env.SWITCHYARD_DEMO_DB_PASSWORD ??= 'unused';
  const regions = opts.regions ?? ['r2', 'r3', 'r4'];
  const dir = mkdtempSync(join(tmpdir(), 'sy-etcd-demo-'));
  const world = new DemoWorld();
  const [etcd] = await Promise.all([EtcdCluster.start(), world.start(0)]);
  const instances: EtcdDemoInstance[] = [];
  const stop = async () => {
    for (const i of instances) await i.daemon.stop('test').catch(() => undefined);
    await world.stop();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const region of regions) {
      const config = demoConfig(world, dir, '127.0.0.1:0', '127.0.0.1:0');
      config.director.id = `sy-${region}`;
      config.director.region = region;
      config.state = {
        ...config.state,
        store: 'etcd',
        etcd: {
          endpoints: etcd.endpoints(),
          prefix: `/sy-${opts.name ?? 'demo'}/`,
          leaseTtl: 3_000,
          callTimeout: 800,
        },
      };
      const daemon = new Daemon({
        config,
        logger: silentLogger(),
        probe: (t, clock) =>
          t.database ? world.database(t.region, t.name).probe() : realProbeFactory(t, clock),
        promoter: (r, key) => world.database(r, key).promoter(),
      });
      const addr = await daemon.start();
      const origin = `http://127.0.0.1:${addr.port}`;
      instances.push({
        id: config.director.id,
        region,
        daemon,
        origin,
        status: async () => (await (await fetch(`${origin}/v1/status`)).json()) as StatusDocument,
        metrics: async () => (await fetch(`${origin}/metrics`)).text(),
      });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    etcd,
    world,
    instances,
    stop,
    settled: async (timeoutMs = 30_000) => {
      let leader: EtcdDemoInstance | undefined;
      await waitFor(
        'one leader, known to every instance, and every observer seen',
        async () => {
          const docs = await Promise.all(instances.map((i) => i.status()));
          const leaders = docs.filter((d) => d.leader?.self === true);
          const named = new Set(docs.map((d) => d.leader?.id));
          const seeAll = docs.every(
            (d) => (d.observers ?? []).filter((o) => o.fresh).length === instances.length,
          );
          const ready = docs.every((d) => d.director.ready);
          if (leaders.length !== 1 || named.size !== 1 || !seeAll || !ready) return false;
          leader = instances[docs.indexOf(leaders[0] as StatusDocument)];
          return true;
        },
        timeoutMs,
        200,
      );
      return leader as EtcdDemoInstance;
    },
  };
}
