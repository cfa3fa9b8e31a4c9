import type { Command } from 'commander';
import { overrideAction, overrideCommand } from './override-command.js';

/** `switchyard freeze` and `switchyard unfreeze`: stop and resume traffic changes. */
export function register(program: Command): void {
  overrideCommand(
    program,
    'freeze',
    'stop all traffic changes; the daemon keeps probing and reporting',
  ).action(overrideAction((client) => client.freeze()));
  overrideCommand(program, 'unfreeze', 'resume traffic changes').action(
    overrideAction((client) => client.unfreeze()),
  );
}
