import type { Command } from 'commander';
import type { CliContext } from './io.js';
import { overrideAction, overrideCommand } from './override-command.js';

/** `switchyard drain <region>` and `switchyard undrain <region>`. */
export function register(program: Command, ctx: CliContext): void {
  overrideCommand(program, 'drain', 'take a region out of traffic (its traffic moves to its fallback)')
    .argument('<region>', 'region id')
    .action(overrideAction(ctx, (client, [region], reason) => client.drain(region ?? '', reason)));
  overrideCommand(program, 'undrain', 'let a drained region serve again once healthy')
    .argument('<region>', 'region id')
    .action(overrideAction(ctx, (client, [region], reason) => client.undrain(region ?? '', reason)));
}
