import type { Command } from 'commander';
import type { SwitchoverResult } from '../server/admin.js';
import { addConnectionOptions, clientFromCommand, reportError } from './admin-client.js';
import { confirmed } from './confirm.js';
import { EXIT } from './exit-codes.js';

interface SwitchoverFlags {
  to: string;
  yes?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

/**
 * `switchyard switchover --to <region> [--yes] [--dry-run] [--json]`: a planned move of the main
 * role (maintenance, failback) with no data loss: fence the main, wait for the target to catch up,
 * promote it, move management. Like failover it prints the daemon's dry run first and, without
 * --yes, asks for the region id on a terminal (refusing, exit 1, when stdin is not one).
 */
export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('switchover')
      .description('planned, lossless move of the main role: fence, catch up, promote, move management')
      .requiredOption('--to <region>', 'the region to become main (its replicas must be healthy)')
      .option('--yes', 'apply without asking for confirmation')
      .option('--dry-run', 'print what would happen and whether the target is ready, then exit')
      .option('--json', 'print the plan and the result as JSON'),
  ).action(async (opts: SwitchoverFlags, cmd: Command) => {
    try {
      const client = clientFromCommand(cmd);
      const preview = await client.switchover({ to: opts.to, dryRun: true });
      process.stdout.write(opts.json ? `${JSON.stringify(preview, null, 2)}\n` : switchoverText(preview));
      if (opts.dryRun) return;
      if (preview.results?.some((r) => !r.ok)) {
        process.stderr.write(`switchyard: switchover not applied: ${opts.to} is not ready (see above)\n`);
        process.exitCode = EXIT.CONFLICT;
        return;
      }
      if (!(await confirmed('switchover', opts.to, opts.yes))) return;
      const result = await client.switchover({ to: opts.to, dryRun: false });
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : switchoverText(result));
      if (!result.applied) process.exitCode = EXIT.CONFLICT;
    } catch (e) {
      reportError(e);
    }
  });
}

/** The plan or the outcome as an operator reads it. Pure. */
export function switchoverText(r: SwitchoverResult): string {
  const out = [r.message];
  out.push(
    `  ${r.dryRun ? 'plan' : 'topology'}: main ${r.main}, epoch ${r.epoch}; databases ${r.databases.join(', ')}`,
  );
  for (const d of r.results ?? [])
    out.push(
      `  ${d.key}: ${d.ok ? 'ok' : 'FAILED'} (${d.stage})${d.position ? ` at ${d.position}` : ''}${d.error ? `: ${d.error}` : ''}`,
    );
  if (r.timings) {
    const t = r.timings;
    out.push(
      `  timings: fence ${t.fenceMs}ms, catch-up ${t.catchUpMs}ms, promote ${t.promoteMs}ms, total ${t.totalMs}ms`,
    );
  }
  for (const [key, w] of Object.entries(r.management ?? {}))
    out.push(
      `  ${key}: ${Object.entries(w)
        .map(([id, v]) => `${id}=${v}`)
        .join(' ')}`,
    );
  if (r.next) out.push(`  next: ${r.next}`);
  return `${out.join('\n')}\n`;
}
