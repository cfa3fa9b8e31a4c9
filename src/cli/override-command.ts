import type { Command } from 'commander';
import type { OverrideResult } from '../server/admin.js';
import { type AdminClient, addConnectionOptions, clientFromCommand, reportError } from './admin-client.js';
import type { CliContext } from './io.js';

/**
 * Runs one override call and prints its result: the daemon's one-line message on stdout
 * ("drained r3: …" or "r3 was already drained"), or the result as JSON with --json.
 * Both "changed" and "already so" exit 0, so the commands are safe to repeat from scripts.
 */
export function overrideAction(
  ctx: CliContext,
  call: (client: AdminClient, args: string[], reason: string | undefined) => Promise<OverrideResult>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.opts<{ json?: boolean; reason?: string }>();
    const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
    try {
      const result = await call(clientFromCommand(cmd, ctx.io.env), positional, opts.reason);
      ctx.out(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.message}\n`);
    } catch (e) {
      reportError(ctx, e);
    }
  };
}

export function overrideCommand(program: Command, name: string, description: string): Command {
  return addConnectionOptions(
    program
      .command(name)
      .description(description)
      .option('--reason <text>', 'why (recorded with your identity in the journal, the log and status)')
      .option('--json', 'print the result as JSON'),
  );
}
