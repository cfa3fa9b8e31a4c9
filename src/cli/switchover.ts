import type { Command } from 'commander';
import type { SwitchoverResult } from '../server/admin.js';
import { addConnectionOptions, clientFromCommand, reportError } from './admin-client.js';
import { confirmed } from './confirm.js';
import { EXIT } from './exit-codes.js';
import type { CliContext } from './io.js';

interface SwitchoverFlags {
  to: string;
  reason?: string;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `switchyard switchover --to <region> --reason <text> [--yes] [--dry-run] [--json]`: a planned
 * move of the main role (maintenance, failback) with no data loss: fence the main, wait for the
 * target to catch up, promote it, move management. It prints the daemon's plan first and,
 * without --yes, asks for the region id on a terminal (refusing, exit 1, when stdin is not one).
 * Exit 0 when done or when the target already is the main, 5 when the daemon's state forbids it
 * (not ready, frozen, a promotion in flight), 6 when it was tried and failed.
 */
export function register(program: Command, ctx: CliContext): void {
  addConnectionOptions(
    program
      .command('switchover')
      .description('planned, lossless move of the main role: fence, catch up, promote, move management')
      .requiredOption('--to <region>', 'the region to become main (its replicas must be healthy)')
      .option('--reason <text>', 'why (required unless --dry-run; recorded with your identity)')
      .option('--yes', 'apply without asking for confirmation')
      .option('--dry-run', 'print what would happen and whether the target is ready, then exit')
      .option('--json', 'print the plan and the result as JSON'),
  ).action(async (opts: SwitchoverFlags, cmd: Command) => {
    if (!opts.dryRun && !opts.reason?.trim())
      cmd.error('error: switchover needs --reason <text> (why; recorded in the journal with your identity)', {
        exitCode: EXIT.USAGE,
        code: 'switchyard.reasonRequired',
      });
    try {
      const client = clientFromCommand(cmd, ctx.io.env);
      const preview = await client.switchover({ to: opts.to, dryRun: true });
      ctx.out(opts.json ? `${JSON.stringify(preview, null, 2)}\n` : switchoverText(preview));
      if (opts.dryRun || preview.outcome === 'already') return;
      if (preview.results?.some((r) => !r.ok)) {
        ctx.err(`switchyard: switchover not applied: ${opts.to} is not ready (see above)\n`);
        ctx.fail(EXIT.CONFLICT);
        return;
      }
      if (!(await confirmed(ctx, 'switchover', opts.to, opts.yes))) return;
      if (!opts.json) ctx.out(`applying the switchover to ${opts.to}…\n`);
      const result = await client.switchover({ to: opts.to, dryRun: false, reason: opts.reason ?? '' });
      ctx.out(opts.json ? `${JSON.stringify(result, null, 2)}\n` : switchoverText(result));
      if (!result.applied && result.outcome !== 'already') ctx.fail(EXIT.DAEMON_ERROR);
    } catch (e) {
      reportError(ctx, e);
    }
  });
}

/** The plan or the outcome as an operator reads it. Pure. */
export function switchoverText(r: SwitchoverResult): string {
  const out = [r.message];
  if (r.outcome === 'already') return `${out.join('\n')}\n`;
  out.push(
    `  ${r.dryRun ? 'now' : 'after'}: main ${r.main}, epoch ${r.epoch}; databases ${r.databases.join(', ')}`,
  );
  for (const d of r.results ?? [])
    out.push(
      `  ${d.key}: ${d.ok ? 'ok' : 'FAILED'} (${d.stage})${d.position ? ` at ${d.position}` : ''}${d.unfenced ? ', old primary writable again' : ''}${d.error ? `: ${d.error}` : ''}`,
    );
  if (r.timings) {
    const t = r.timings;
    out.push(
      `  timings: fence ${t.fenceMs}ms, catch-up ${t.catchUpMs}ms, promote ${t.promoteMs}ms, total ${t.totalMs}ms`,
    );
  }
  if (r.epochConsumed !== undefined)
    out.push(
      `  epoch ${r.epochConsumed} was consumed by this aborted switchover (an epoch is a fencing token and never goes back); nothing changed hands`,
    );
  for (const [key, w] of Object.entries(r.management ?? {}))
    out.push(
      `  ${key}: ${Object.entries(w)
        .map(([id, v]) => `${id}=${v}`)
        .join(' ')}`,
    );
  if (r.next) out.push(`  next: ${r.next}`);
  return `${out.join('\n')}\n`;
}
