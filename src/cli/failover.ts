import type { Command } from 'commander';
import { addConnectionOptions, clientFromCommand, reportError } from './admin-client.js';
import { confirmed } from './confirm.js';
import { EXIT } from './exit-codes.js';
import { failoverPreviewText } from './failover-format.js';
import type { CliContext } from './io.js';

interface FailoverFlags {
  to: string;
  reason?: string;
  force?: boolean;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `switchyard failover --to <region> --reason <text> [--force] [--yes] [--dry-run]`: a manual
 * failover. It always fetches and prints the daemon's dry-run plan first, so the operator sees
 * which records move, what is promoted and how much data --force may lose. Without --yes it asks
 * for the region id on a terminal, and refuses (exit 1) when stdin is not one: a script must say
 * --yes explicitly. A failover to the region that already is the main is "already so": exit 0.
 */
export function register(program: Command, ctx: CliContext): void {
  addConnectionOptions(
    program
      .command('failover')
      .description('move the main role (management traffic and writable databases) to another region')
      .requiredOption('--to <region>', 'the region to become main')
      .option('--reason <text>', 'why (required unless --dry-run; recorded with your identity)')
      .option('--force', 'promote even if replica lag is over the bound or unknown (may lose data)')
      .option('--yes', 'apply without asking for confirmation')
      .option('--dry-run', 'print the plan and exit')
      .option('--json', 'print the plan and the result as JSON'),
  ).action(async (opts: FailoverFlags, cmd: Command) => {
    if (!opts.dryRun && !opts.reason?.trim())
      cmd.error('error: failover needs --reason <text> (why; recorded in the journal with your identity)', {
        exitCode: EXIT.USAGE,
        code: 'switchyard.reasonRequired',
      });
    try {
      const client = clientFromCommand(cmd, ctx.io.env);
      const force = opts.force === true;
      const preview = await client.failover({ to: opts.to, force, dryRun: true });
      if (preview.already) {
        ctx.out(opts.json ? `${JSON.stringify(preview, null, 2)}\n` : `${preview.message}\n`);
        return;
      }
      ctx.out(opts.json ? `${JSON.stringify(preview, null, 2)}\n` : failoverPreviewText(preview.plan));
      if (opts.dryRun) return;
      if (preview.plan.blocked && !force) {
        ctx.err(`switchyard: failover not applied: ${preview.plan.blocked}\n`);
        ctx.fail(EXIT.CONFLICT);
        return;
      }
      if (!(await confirmed(ctx, 'failover', opts.to, opts.yes))) return;
      const result = await client.failover({
        to: opts.to,
        force,
        dryRun: false,
        ...(opts.reason ? { reason: opts.reason } : {}),
      });
      ctx.out(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.message}\n`);
      // Applied but not complete (the promotion failed and is being retried): the daemon failed.
      if (!result.applied || result.complete === false) ctx.fail(EXIT.DAEMON_ERROR);
    } catch (e) {
      reportError(ctx, e);
    }
  });
}
