import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Daemon } from '../../src/daemon/daemon.js';
import { realProbeFactory } from '../../src/daemon/probes.js';
import { demoConfig } from '../../src/demo/demo-config.js';
import { DemoWorld } from '../../src/demo/world.js';
import { silentLogger } from '../../src/log.js';
import type { StatusDocument } from '../../src/server/status.js';

/**
 * The real daemon against the demo world, in this process, on free loopback ports — what
 * `switchyard demo` runs (src/cli/demo.ts), for tests that need a live daemon: the status page,
 * the dashboard's scrape check.
 */
export interface DemoDaemon {
  world: DemoWorld;
  daemon: Daemon;
  /** http://127.0.0.1:<daemon port> */
  origin: string;
  /** http://127.0.0.1:<world port> (POST /control/<region>/down|up) */
  worldOrigin: string;
  dir: string;
  status(): Promise<StatusDocument>;
  stop(): Promise<void>;
}

export async function startDemoDaemon(): Promise<DemoDaemon> {
  process.env.SWITCHYARD_DEMO_TOKEN ??= 'demo-token';
  process.env.SWITCHYARD_DEMO_DB_PASSWORD ??= 'unused';
  const dir = mkdtempSync(join(tmpdir(), 'sy-demo-daemon-'));
  const world = new DemoWorld();
  const worldPort = await world.start(0);
  let daemon: Daemon | undefined;
  try {
    daemon = new Daemon({
      config: demoConfig(world, dir, '127.0.0.1:0', '127.0.0.1:0'),
      logger: silentLogger(),
      probe: (t, clock) =>
        t.database ? world.database(t.region, t.name).probe() : realProbeFactory(t, clock),
      promoter: (region, key) => world.database(region, key).promoter(),
    });
    const addr = await daemon.start();
    const origin = `http://127.0.0.1:${addr.port}`;
    const d = daemon;
    return {
      world,
      daemon: d,
      origin,
      worldOrigin: `http://127.0.0.1:${worldPort}`,
      dir,
      status: async () => (await (await fetch(`${origin}/v1/status`)).json()) as StatusDocument,
      stop: async () => {
        await d.stop('test');
        await world.stop();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await daemon?.stop('test').catch(() => undefined);
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
