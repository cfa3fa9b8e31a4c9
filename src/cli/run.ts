import type { Command } from 'commander';
import type { Level } from 'pino';
import { loadConfig } from '../config/load.js';
import { Daemon } from '../daemon/daemon.js';
import { createLogger } from '../log.js';
import { isSwitchyardError } from '../util/errors.js';
import { EXIT } from './exit-codes.js';

/** `switchyard run --config <file> [--dry-run]`: the always-on daemon. */
export function register(program: Command): void {
  program
    .command('run')
    .description('run the daemon: probe, decide, move DNS weights, promote when the main is lost')
    .requiredOption('-c, --config <file>', 'configuration file')
    .option('--dry-run', 'decide and log every change, but write nothing to DNS')
    .option('--listen <host:port>', 'override director.listen')
    .option('--log-level <level>', 'trace, debug, info, warn, error or fatal', 'info')
    .action(async (opts: { config: string; dryRun?: boolean; listen?: string; logLevel: string }) => {
      const logger = createLogger({ level: opts.logLevel as Level });
      // Every I/O path handles its own failures; this is the net under a bug, not a strategy:
      // log it and keep watching the regions rather than die in the middle of an incident.
      process.on('unhandledRejection', (err) =>
        logger.error({ event: 'error', code: 'internal', err }, 'unhandled rejection; still running'),
      );
      let daemon: Daemon;
      try {
        const { config, warnings } = loadConfig(opts.config);
        for (const w of warnings)
          logger.warn({ event: 'config-warning', path: w.path }, `${w.path}: ${w.message}`);
        daemon = new Daemon({
          config,
          logger,
          ...(opts.dryRun ? { dryRun: true } : {}),
          ...(opts.listen ? { listen: opts.listen } : {}),
        });
        await daemon.start();
      } catch (e) {
        // start() has already stopped whatever it had started: nothing is left running.
        const code = isSwitchyardError(e) ? e.code : 'internal';
        const details = isSwitchyardError(e) ? e.details : [];
        const message = e instanceof Error ? e.message : String(e);
        logger.fatal({ event: 'fatal', code, details, err: e }, message);
        process.stderr.write(`switchyard: ${message}\n${details.map((d) => `  ${d}\n`).join('')}`);
        process.exitCode = isSwitchyardError(e) ? EXIT.INVALID : EXIT.DAEMON_ERROR;
        return;
      }
      await new Promise<void>((resolve) => {
        void daemon.fatal.then((e) => {
          logger.fatal({ event: 'fatal', code: e.code, details: e.details }, e.message);
          process.stderr.write(`switchyard: ${e.message}\n${e.details.map((d) => `  ${d}\n`).join('')}`);
          process.exitCode = EXIT.INVALID;
          void daemon.stop('fatal').finally(resolve);
        });
        let stopping = false;
        const stop = (signal: NodeJS.Signals) => {
          if (stopping) {
            logger.warn({ event: 'shutdown', signal }, 'second signal: exiting now');
            process.exit(EXIT.DAEMON_ERROR);
          }
          stopping = true;
          void daemon.stop(signal).finally(resolve);
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
    });
}
