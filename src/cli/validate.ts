import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { buildTopology } from '../topology/build.js';
import { isSwitchyardError } from '../util/errors.js';

/** `switchyard validate <config>`: exit 0 with a one-line summary, or 1 with every error and its path. */
export function register(program: Command): void {
  program
    .command('validate')
    .description('check a configuration file; prints every error with its path')
    .argument('<config>', 'path to the YAML configuration')
    .option('--quiet', 'print nothing on success')
    .action((path: string, opts: { quiet?: boolean }) => {
      try {
        const { config, warnings } = loadConfig(path);
        const t = buildTopology(config);
        for (const w of warnings) process.stderr.write(`warning: ${w.path}: ${w.message}\n`);
        if (!opts.quiet) {
          const roles = t.regions.map((r) => `${r.id}(${r.role})`).join(' ');
          const checks = Object.values(config.regions).reduce(
            (n, r) =>
              n +
              (r.gateway?.checks.length ?? 0) +
              (r.keyManager?.checks.length ?? 0) +
              Object.keys(r.databases ?? {}).length,
            0,
          );
          process.stdout.write(
            `${path}: valid — ${t.regions.length} regions ${roles}, ${checks} probe targets, ${t.records.length} records, dns ${config.dns.provider}, promotion ${config.policy.promotion.mode}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''}\n`,
          );
        }
      } catch (e) {
        if (!isSwitchyardError(e)) throw e;
        process.stderr.write(`${e.message}\n`);
        for (const line of e.details) process.stderr.write(`  ${line}\n`);
        process.exitCode = 1;
      }
    });
}
