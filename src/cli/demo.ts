import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Level } from 'pino';
import { Daemon } from '../daemon/daemon.js';
import { realProbeFactory } from '../daemon/probes.js';
import { demoConfig } from '../demo/demo-config.js';
import { DemoWorld } from '../demo/world.js';
import { createLogger } from '../log.js';

const DEMO_TOKEN = 'demo-token';

/**
 * `switchyard demo`: the real daemon on its embedded default (file DNS, file state) against a
 * pretend four-region world on loopback — no cloud account and no database server needed.
 */
export function register(program: Command): void {
  program
    .command('demo')
    .description('run the daemon against a simulated four-region world on 127.0.0.1 (no cloud, no database)')
    .option('--dir <dir>', 'where the demo keeps dns.json and state.json', 'var/demo')
    .option('--listen <host:port>', 'the daemon address', '127.0.0.1:9464')
    .option('--world-port <port>', 'port of the simulated regions (0 picks one)', '9470')
    .option('--log-level <level>', 'log level', 'info')
    .action(async (opts: { dir: string; listen: string; worldPort: string; logLevel: string }) => {
      const dir = resolve(opts.dir);
      mkdirSync(dir, { recursive: true });
      process.env.SWITCHYARD_DEMO_TOKEN ??= DEMO_TOKEN;
      process.env.SWITCHYARD_DEMO_DB_PASSWORD ??= 'unused';
      const world = new DemoWorld();
      const worldPort = await world.start(Number(opts.worldPort));
      const config = demoConfig(world, dir, opts.listen);
      const daemon = new Daemon({
        config,
        logger: createLogger({ level: opts.logLevel as Level }),
        probe: (t, clock) =>
          t.database ? world.database(t.region, t.name).probe() : realProbeFactory(t, clock),
        promoter: (region, key) => world.database(region, key).promoter(),
      });
      const addr = await daemon.start();
      const w = `127.0.0.1:${worldPort}`;
      process.stderr.write(
        [
          '',
          `switchyard demo — daemon on ${addr.address}:${addr.port}, simulated regions r1 (main) r2 (failover) r3 r4 (edge) on ${w}`,
          `DNS weights are written to ${resolve(dir, 'dns.json')}; state to ${resolve(dir, 'state.json')}`,
          '',
          'Try, in another terminal:',
          `  node dist/cli/main.js status --addr ${addr.address}:${addr.port}`,
          `  curl -X POST ${w}/control/r3/down      # an edge region fails: api.r3 moves to r1`,
          `  curl -X POST ${w}/control/r1/down      # the main is lost: traffic to r2, r2 promoted, management follows`,
          `  curl -X POST ${w}/control/r2/lag?seconds=60   # (before r1/down) the RPO guard then refuses to promote`,
          `  SWITCHYARD_TOKEN=${process.env.SWITCHYARD_DEMO_TOKEN === DEMO_TOKEN ? DEMO_TOKEN : '<your token>'} node dist/cli/main.js drain r4 --addr ${addr.address}:${addr.port}`,
          `  curl ${w}/control                      # what the simulated world looks like`,
          'Ctrl-C stops the demo.',
          '',
        ].join('\n'),
      );
      await new Promise<void>((done) => {
        const stop = () => {
          void daemon
            .stop('SIGINT')
            .then(() => world.stop())
            .finally(done);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
