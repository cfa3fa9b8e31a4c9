import type { Command } from 'commander';
import { overrideAction, overrideCommand } from './override-command.js';

/** `switchyard drain <region>` and `switchyard undrain <region>`. */
export function register(program: Command): void {
  overrideCommand(program, 'drain', 'take a region out of traffic (its traffic moves to its fallback)')
    .argument('<region>', 'region id')
    .action(overrideAction((client, [region]) => client.drain(region ?? '')));
  overrideCommand(program, 'undrain', 'let a drained region serve again once healthy')
    .argument('<region>', 'region id')
    .action(overrideAction((client, [region]) => client.undrain(region ?? '')));
}
