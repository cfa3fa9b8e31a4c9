import type { Command } from 'commander';
import type { CliContext } from './io.js';
import { overrideAction, overrideCommand } from './override-command.js';

/** `switchyard freeze` and `switchyard unfreeze`: stop and resume traffic changes. */
export function register(program: Command, ctx: CliContext): void {
  overrideCommand(
    program,
    'freeze',
    'stop all traffic changes; the daemon keeps probing and reporting',
  ).action(overrideAction(ctx, (client, _args, reason) => client.freeze(reason)));
  overrideCommand(program, 'unfreeze', 'resume traffic changes').action(
    overrideAction(ctx, (client, _args, reason) => client.unfreeze(reason)),
  );
}
