import type { Command } from 'commander';
import type { CliContext } from './io.js';
import type { SimCommandOptions } from './sim-run.js';

/**
 * `switchyard sim`: the deterministic simulator (src/sim). Only the options are declared here;
 * the simulator itself loads when the command runs, so other commands start without it.
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('sim')
    .description(
      'deterministic simulation of the director under faults: invariants checked after every event, replayable by seed',
    )
    .option('--seed <n>', 'the seed (default: a random one, printed in the report)')
    .option('--duration <d>', 'virtual run length: 90s, 30m, 6h, 1d (default: the scenario’s)')
    .option('--instances <n>', 'director instances (1–5)', '1')
    .option('--scenario <name>', 'a named scenario; see --list', 'random')
    .option('--intensity <x>', 'random scenario: scales every fault kind’s rate', '1')
    .option('--trace', 'print the trace as the run goes')
    .option('--json', 'print the report as JSON')
    .option('--check-determinism', 'run the seed twice and compare the trace hashes')
    .option('--list', 'list the scenarios, fault kinds and invariants')
    .option(
      '--mutant <name>',
      'take a safety mechanism out (see --list): the run must then break its invariant; repeatable',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option(
      '--skip-known-bugs',
      'leave out the invariants that catch known, unfixed bugs (src/sim/known-bugs.ts)',
    )
    .action(async (opts: SimCommandOptions) => {
      const { runSimCommand } = await import('./sim-run.js');
      const code = await runSimCommand(opts, {
        out: { write: (s) => ctx.out(s) },
        err: { write: (s) => ctx.err(s) },
      });
      if (code !== 0) ctx.fail(code);
    });
}
