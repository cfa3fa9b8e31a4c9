import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { decide } from '../decide/decide.js';
import { loadScenario, scenarioInput } from '../scenario/scenario.js';
import { buildTopology } from '../topology/build.js';
import { isSwitchyardError } from '../util/errors.js';
import { planJson, planText } from './plan-format.js';

/** `switchyard plan --config <file> --scenario <file> [--json]`: the real engine on a "what if". */
export function register(program: Command): void {
  program
    .command('plan')
    .description('run the decision engine on a hypothetical situation and print the plan')
    .requiredOption('-c, --config <file>', 'configuration file')
    .requiredOption(
      '-s, --scenario <file>',
      'scenario file (YAML): what is down, for how long, the state before',
    )
    .option('--json', 'print the plan as JSON')
    .action((opts: { config: string; scenario: string; json?: boolean }) => {
      try {
        const { config } = loadConfig(opts.config);
        const topology = buildTopology(config);
        const scenario = loadScenario(opts.scenario);
        const plan = decide(scenarioInput(topology, scenario, opts.scenario));
        process.stdout.write(opts.json ? `${JSON.stringify(planJson(plan), null, 2)}\n` : planText(plan));
      } catch (e) {
        if (!isSwitchyardError(e)) throw e;
        process.stderr.write(`${e.message}\n`);
        for (const line of e.details) process.stderr.write(`  ${line}\n`);
        process.exitCode = 1;
      }
    });
}
