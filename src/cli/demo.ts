import type { Command } from 'commander';
import type { Level } from 'pino';
import { EXIT } from './exit-codes.js';
import type { CliContext } from './io.js';

const DEMO_TOKEN = 'demo-token';

interface DemoFlags {
  dir: string;
  listen: string;
  adminListen: string;
  worldPort: string;
  logLevel: string;
  keep?: boolean;
}

/**
 * `switchyard demo`: the real daemon on its embedded default (file DNS, file state) against a
 * pretend four-region world on loopback — no cloud account and no database server needed.
 * Each run starts fresh (its state and DNS files are removed) unless --keep; the daemon's JSON
 * log goes to <dir>/daemon.log and only warnings reach the terminal, under the banner.
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('demo')
    .description('run the daemon against a simulated four-region world on 127.0.0.1 (no cloud, no database)')
    .option('--dir <dir>', 'where the demo keeps dns.json, state.json and daemon.log', 'var/demo')
    .option('--keep', 'keep the state and DNS of the previous run (default: start fresh)')
    .option('--listen <host:port>', 'the read-only listener (status, metrics)', '127.0.0.1:9464')
    .option(
      '--admin-listen <host:port>',
      'the admin listener (drain, failover, switchover)',
      '127.0.0.1:9465',
    )
    .option('--world-port <port>', 'port of the simulated regions (0 picks one)', '9470')
    .option('--log-level <level>', 'level of the log file (the terminal shows warnings only)', 'info')
    .action(async (opts: DemoFlags) => {
      const [{ mkdirSync, rmSync }, { resolve }, { DemoWorld }] = await Promise.all([
        import('node:fs'),
        import('node:path'),
        import('../demo/world.js'),
      ]);
      const dir = resolve(opts.dir);
      mkdirSync(dir, { recursive: true });
      if (!opts.keep)
        for (const f of ['state.json', 'dns.json', 'daemon.log']) rmSync(resolve(dir, f), { force: true });
      const env = ctx.io.env;
      env.SWITCHYARD_DEMO_TOKEN ??= DEMO_TOKEN;
      env.SWITCHYARD_DEMO_DB_PASSWORD ??= 'unused';
      process.env.SWITCHYARD_DEMO_TOKEN = env.SWITCHYARD_DEMO_TOKEN;
      process.env.SWITCHYARD_DEMO_DB_PASSWORD = env.SWITCHYARD_DEMO_DB_PASSWORD;

      const world = new DemoWorld();
      let worldPort: number;
      try {
        worldPort = await world.start(Number(opts.worldPort));
      } catch (e) {
        ctx.err(
          `switchyard demo: ${portHint(e, `the simulated regions' port ${opts.worldPort}`, '--world-port <port> (0 picks a free one)')}\n`,
        );
        ctx.fail(EXIT.INVALID);
        return;
      }
      // The daemon loads only once the world's port is ours: a clash is reported at once.
      const [{ Daemon }, { realProbeFactory }, { demoConfig }, { createLogger }, { DemoLogDestination }] =
        await Promise.all([
          import('../daemon/daemon.js'),
          import('../daemon/probes.js'),
          import('../demo/demo-config.js'),
          import('../log.js'),
          import('../demo/demo-log.js'),
        ]);
      const log = new DemoLogDestination(resolve(dir, 'daemon.log'), ctx.io.stderr);
      const config = demoConfig(world, dir, opts.listen, opts.adminListen);
      const daemon = new Daemon({
        config,
        logger: createLogger({ level: opts.logLevel as Level, destination: log }),
        probe: (t, clock) =>
          t.database ? world.database(t.region, t.name).probe() : realProbeFactory(t, clock),
        promoter: (region, key) => world.database(region, key).promoter(),
      });
      let addr: Awaited<ReturnType<typeof daemon.start>>;
      try {
        addr = await daemon.start();
      } catch (e) {
        await daemon.stop('start failed').catch(() => undefined);
        await world.stop();
        log.close();
        ctx.err(
          `switchyard demo: ${portHint(e, `${opts.listen} or ${opts.adminListen}`, '--listen <host:port> and --admin-listen <host:port>')}\n`,
        );
        ctx.fail(EXIT.INVALID);
        return;
      }
      const read = `${addr.address}:${addr.port}`;
      const admin = addr.admin ? `${addr.admin.address}:${addr.admin.port}` : opts.adminListen;
      const w = `127.0.0.1:${worldPort}`;
      const token = env.SWITCHYARD_DEMO_TOKEN;
      const sy = `npx switchyard`;
      const flags = `--addr ${read} --admin-addr ${admin}`;
      ctx.err(
        [
          '',
          `switchyard demo — simulated regions r1 (main) r2 (failover) r3 r4 (edge) on ${w}`,
          `  read-only listener ${read} (status, /metrics), admin listener ${admin}, admin token: ${token}`,
          `  DNS weights: ${resolve(dir, 'dns.json')}; state and journal: ${resolve(dir, 'state.json')}`,
          `  daemon log (JSON): ${resolve(dir, 'daemon.log')}; warnings also appear below`,
          '',
          'Try, in another terminal (after `npm run build`):',
          `  export SWITCHYARD_ADDR=${read} SWITCHYARD_ADMIN_ADDR=${admin} SWITCHYARD_TOKEN=${token}`,
          `  ${sy} status                                  # what the daemon sees and has decided`,
          `  curl -X POST ${w}/control/r3/down             # an edge region fails: api.r3 moves to r1`,
          `  ${sy} switchover --to r2 --reason "drill" --yes   # planned: fence r1, r2 catches up and is promoted`,
          `  curl -X POST ${w}/control/r1/rebuild          # rebuild the fenced old main as a replica of r2`,
          `  ${sy} switchover --to r1 --reason "failback" --yes # …then fail back`,
          `  curl -X POST ${w}/control/r1/down             # or lose the main: traffic to r2, r2 promoted, management follows`,
          `  curl -X POST '${w}/control/r2/lag?seconds=60' # (before r1/down) the RPO guard then refuses to promote`,
          `  ${sy} drain r4 --reason "maintenance"         # an override, recorded with who and why`,
          `  curl ${w}/control                             # what the simulated world looks like`,
          `(without SWITCHYARD_*: ${sy} status ${flags})`,
          'Ctrl-C stops the demo; the next run starts fresh unless --keep.',
          '',
        ].join('\n'),
      );
      await new Promise<void>((done) => {
        const stop = () => {
          void daemon
            .stop('SIGINT')
            .then(() => world.stop())
            .finally(() => {
              log.close();
              done();
            });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}

/** "port in use" with the flag that moves it; anything else as it is. */
function portHint(e: unknown, what: string, flag: string): string {
  // The daemon reports LISTEN_FAILED with the socket error as its cause; the world's server, the error itself.
  const cause = e instanceof Error && e.cause !== undefined ? e.cause : e;
  const code = (cause as NodeJS.ErrnoException).code;
  const message = e instanceof Error ? e.message : String(e);
  if (code === 'EADDRINUSE')
    return `${what} is already in use (another demo or daemon running?); choose another with ${flag}`;
  if (code === 'EACCES') return `${what}: permission denied; choose another with ${flag}`;
  return message;
}
