import type { Command } from 'commander';
import type { OverrideResult } from '../server/admin.js';
import { type AdminClient, addConnectionOptions, clientFromCommand, reportError } from './admin-client.js';

/**
 * Runs one override call and prints its result: the daemon's one-line message on stdout
 * ("drained r3: …" or "r3 was already drained"), or the result as JSON with --json.
 * Both "changed" and "already so" exit 0, so the commands are safe to repeat from scripts.
 */
export function overrideAction(
  call: (client: AdminClient, args: string[]) => Promise<OverrideResult>,
): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const opts = cmd.opts<{ json?: boolean }>();
    const positional = args.slice(0, -2).filter((a): a is string => typeof a === 'string');
    try {
      const result = await call(clientFromCommand(cmd), positional);
      process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${result.message}\n`);
    } catch (e) {
      reportError(e);
    }
  };
}

export function overrideCommand(program: Command, name: string, description: string): Command {
  return addConnectionOptions(
    program.command(name).description(description).option('--json', 'print the result as JSON'),
  );
}
