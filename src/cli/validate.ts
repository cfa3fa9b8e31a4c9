import type { Command } from 'commander';
import type { CliContext } from './io.js';

/** `switchyard validate <config>`: exit 0 with a one-line summary, or 1 with every error and its path. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check a configuration file; prints every error with its path')
    .argument('<config>', 'path to the YAML configuration')
    .option('--quiet', 'print nothing on success')
    .action(async (path: string, opts: { quiet?: boolean }) => {
      const [{ loadConfig }, { buildTopology }, { isSwitchyardError }, { adminSettings }] = await Promise.all(
        [
          import('../config/load.js'),
          import('../topology/build.js'),
          import('../util/errors.js'),
          import('../server/admin-config.js'),
        ],
      );
      try {
        const loaded = loadConfig(path);
        const config = loaded.config;
        // Deprecations (director.adminToken) are warnings like the cross-checks'.
        const warnings = [...loaded.warnings, ...adminSettings(config).warnings];
        const t = buildTopology(config);
        for (const w of warnings) ctx.err(`warning: ${w.path}: ${w.message}\n`);
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
          ctx.out(
            `${path}: valid — ${t.regions.length} regions ${roles}, ${checks} probe targets, ${t.records.length} records, dns ${config.dns.provider}, promotion ${config.policy.promotion.mode}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''}\n`,
          );
        }
      } catch (e) {
        if (!isSwitchyardError(e)) throw e;
        ctx.err(`${e.message}\n`);
        for (const line of e.details) ctx.err(`  ${line}\n`);
        ctx.fail(1);
      }
    });
}
