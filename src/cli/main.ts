#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { addConnectionOptions } from './admin-client.js';
import { register as registerDemo } from './demo.js';
import { register as registerDrain } from './drain.js';
import { register as registerFailover } from './failover.js';
import { register as registerFreeze } from './freeze.js';
import { register as registerPlan } from './plan.js';
import { register as registerRun } from './run.js';
import { register as registerStatus } from './status.js';
import { register as registerSwitchover } from './switchover.js';
import { register as registerValidate } from './validate.js';

const program = new Command();
program
  .name('switchyard')
  .description('global traffic director and health-check daemon for multi-region API platforms')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

addConnectionOptions(program);
registerRun(program);
registerStatus(program);
registerDrain(program);
registerFreeze(program);
registerFailover(program);
registerSwitchover(program);
registerValidate(program);
registerPlan(program);
registerDemo(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // Help and version are not errors; anything else commander rejects is a usage error.
    process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
  } else {
    process.stderr.write(`switchyard: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
