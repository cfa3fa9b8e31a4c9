import type { Command } from 'commander';
import type { CliContext } from './io.js';

/** `switchyard plan --config <file> --scenario <file> [--json]`: the real engine on a "what if". */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('plan')
    .description('run the decision engine on a hypothetical situation and print the plan')
    .requiredOption('-c, --config <file>', 'configuration file')
    .requiredOption(
      '-s, --scenario <file>',
      'scenario file (YAML): what is down, for how long, the state before',
    )
    .option('--json', 'print the plan as JSON')
    .action(async (opts: { config: string; scenario: string; json?: boolean }) => {
      const [{ loadConfig }, { decide }, scenario, { buildTopology }, { isSwitchyardError }, format] =
        await Promise.all([
          import('../config/load.js'),
          import('../decide/decide.js'),
          import('../scenario/scenario.js'),
          import('../topology/build.js'),
          import('../util/errors.js'),
          import('./plan-format.js'),
        ]);
      try {
        const { config } = loadConfig(opts.config);
        const topology = buildTopology(config);
        const s = scenario.loadScenario(opts.scenario);
        const input = scenario.scenarioInput(topology, s, opts.scenario);
        const plan = decide(input);
        ctx.out(opts.json ? `${JSON.stringify(format.planJson(plan), null, 2)}\n` : format.planText(plan));
      } catch (e) {
        if (!isSwitchyardError(e)) throw e;
        ctx.err(`${e.message}\n`);
        for (const line of e.details) ctx.err(`  ${line}\n`);
        ctx.fail(1);
      }
    });
}
