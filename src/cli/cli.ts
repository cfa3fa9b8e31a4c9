import { Command, CommanderError } from 'commander';
import { addConnectionOptions } from './admin-client.js';
import { register as registerDemo } from './demo.js';
import { register as registerDrain } from './drain.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { register as registerFailover } from './failover.js';
import { register as registerFreeze } from './freeze.js';
import { CliContext, type CliIo } from './io.js';
import { register as registerPlan } from './plan.js';
import { register as registerRun } from './run.js';
import { register as registerSim } from './sim.js';
import { register as registerStatus } from './status.js';
import { register as registerSwitchover } from './switchover.js';
import { register as registerValidate } from './validate.js';

export const VERSION = '0.1.0';

/**
 * The whole CLI as a function of its arguments and streams: `main.ts` calls it with the
 * process's, tests call it in process. Command modules import only what parsing needs; each
 * command loads its heavy parts (the daemon, the engine, the HTTP client) when it runs, so
 * `--version`, `status` and the override commands start in about the time of a bare Node.
 * Resolves with the exit code (the table in exit-codes.ts) once the command has finished.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const ctx = new CliContext(io);
  const program = new Command();
  program
    .name('switchyard')
    .description('global traffic director and health-check daemon for multi-region API platforms')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out(s),
      writeErr: (s) => ctx.err(s),
      getOutHelpWidth: () => 100,
      getErrHelpWidth: () => 100,
    });
  addConnectionOptions(program);
  registerRun(program, ctx);
  registerStatus(program, ctx);
  registerDrain(program, ctx);
  registerFreeze(program, ctx);
  registerFailover(program, ctx);
  registerSwitchover(program, ctx);
  registerValidate(program, ctx);
  registerPlan(program, ctx);
  registerDemo(program, ctx);
  registerSim(program, ctx);
  // Every subcommand reports through the same streams and throws instead of exiting.
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help (`help`, `--help`, `help <command>`) and `--version` are not errors; anything else
      // commander rejects (unknown option, missing argument, no command) is a usage error.
      return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    ctx.err(`switchyard: ${e instanceof Error ? e.message : String(e)}\n`);
    ctx.fail(EXIT.INVALID);
  }
  return ctx.exitCode;
}
