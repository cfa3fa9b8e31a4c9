import type { Command } from 'commander';
import { addConnectionOptions, clientFromCommand, reportError } from './admin-client.js';
import { confirmed } from './confirm.js';
import { EXIT } from './exit-codes.js';
import { failoverPreviewText } from './failover-format.js';

interface FailoverFlags {
  to: string;
  force?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `switchyard failover --to <region> [--force] [--yes] [--dry-run]`: a manual failover.
 * It always fetches and prints the daemon's dry-run plan first, so the operator sees which
 * records move, what is promoted and how much data --force may lose. Without --yes it asks
 * for the region id on a terminal, and refuses (exit 1) when stdin is not one: a script must
 * say --yes explicitly.
 */
export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('failover')
      .description('move the main role (management traffic and writable databases) to another region')
      .requiredOption('--to <region>', 'the region to become main')
      .option('--force', 'promote even if replica lag is over the bound or unknown (may lose data)')
      .option('--yes', 'apply without asking for confirmation')
      .option('--dry-run', 'print the plan and exit')
      .option('--json', 'print the plan and the result as JSON'),
  ).action(async (opts: FailoverFlags, cmd: Command) => {
    try {
      const client = clientFromCommand(cmd);
      const force = opts.force === true;
      const preview = await client.failover({ to: opts.to, force, dryRun: true });
      process.stdout.write(
        opts.json ? `${JSON.stringify(preview, null, 2)}\n` : failoverPreviewText(preview.plan),
      );
      if (opts.dryRun) return;
      if (preview.plan.blocked && !force) {
        process.stderr.write(`switchyard: failover not applied: ${preview.plan.blocked}\n`);
        process.exitCode = EXIT.CONFLICT;
        return;
      }
      if (!(await confirmed('failover', opts.to, opts.yes))) return;
      const result = await client.failover({ to: opts.to, force, dryRun: false });
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.message}\n`);
      if (!result.applied) process.exitCode = EXIT.CONFLICT;
    } catch (e) {
      reportError(e);
    }
  });
}
