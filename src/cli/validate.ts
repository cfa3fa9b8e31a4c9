import type { Command } from 'commander';
import type { ExitCode } from './exit-codes.js';
import type { CliContext } from './io.js';

/** `switchyard validate <config>`: exit 0 with a one-line summary, or 1 with every error and its path. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('validate')
    .description('check a configuration file; prints every error with its path')
    .argument('<config>', 'path to the YAML configuration')
    .option('--quiet', 'print nothing on success')
    .action(async (path: string, opts: { quiet?: boolean }) => {
      const { runValidate } = await import('./validate-run.js');
      const code = runValidate(path, opts, { stdout: (s) => ctx.out(s), stderr: (s) => ctx.err(s) });
      if (code !== 0) ctx.fail(code as ExitCode);
    });
}
