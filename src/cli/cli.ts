import { addConnectionOptions } from './admin-client.js';
import { Command, CommanderError } from './commander.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { CliContext, type CliIo } from './io.js';

type Register = (program: Command, ctx: CliContext) => void;

/**
 * Each command's registration module, loaded only for the command being run: an override
 * command then loads 8 small modules instead of 21 (every process start pays for each module
 * it resolves). Help, no command or an unknown one (commander's "did you mean") load them all.
 */
const COMMANDS: Record<string, () => Promise<{ register: Register }>> = {
  run: () => import('./run.js'),
  status: () => import('./status.js'),
  drain: () => import('./drain.js'),
  undrain: () => import('./drain.js'),
  freeze: () => import('./freeze.js'),
  unfreeze: () => import('./freeze.js'),
  failover: () => import('./failover.js'),
  switchover: () => import('./switchover.js'),
  validate: () => import('./validate.js'),
  plan: () => import('./plan.js'),
  demo: () => import('./demo.js'),
  sim: () => import('./sim.js'),
};

/** The program's own options that take a value (addConnectionOptions): skipped to find the command. */
const VALUE_OPTIONS = new Set(['--addr', '--admin-addr', '--token', '--token-file', '--timeout']);

/**
 * The registration modules `argv` needs: the named command's, none for a bare `--version`,
 * every one otherwise (help, no command, an unknown or misspelt one). Loaders may repeat a module.
 */
export function registrationsFor(argv: readonly string[]): Array<() => Promise<{ register: Register }>> {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') break;
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    const load = COMMANDS[a];
    return load ? [load] : Object.values(COMMANDS);
  }
  if (argv.length > 0 && argv.every((a) => a === '--version' || a === '-V')) return [];
  return Object.values(COMMANDS);
}

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
  // Loaded in parallel, registered in this order (help lists them so); drain and undrain, freeze
  // and unfreeze share a module, registered once.
  const modules = await Promise.all(registrationsFor(argv).map((load) => load()));
  for (const m of new Set(modules)) m.register(program, ctx);
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
