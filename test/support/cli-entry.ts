// A stand-in for src/cli/main.ts with only the admin-API commands, for the CLI e2e tests.
import { Command, CommanderError } from 'commander';
import { register as registerDrain } from '../../src/cli/drain.js';
import { register as registerFailover } from '../../src/cli/failover.js';
import { register as registerFreeze } from '../../src/cli/freeze.js';
import { register as registerStatus } from '../../src/cli/status.js';

const program = new Command().name('switchyard').exitOverride();
registerStatus(program);
registerDrain(program);
registerFreeze(program);
registerFailover(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' ? 0 : 2;
  } else {
    process.stderr.write(`switchyard: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  }
}
