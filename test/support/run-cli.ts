import { type PassThrough, Readable } from 'node:stream';
import { runCli } from '../../src/cli/cli.js';
import type { CliResult } from './cli.js';

/** A string sink that looks enough like a stream for the CLI (never a TTY: no colour). */
class Sink {
  text = '';
  isTTY = false;
  write(s: string): boolean {
    this.text += s;
    return true;
  }
}

/**
 * Runs the CLI in this process, exactly as `main.ts` does but with buffers for streams: no
 * process start per case. stdin is a closed pipe (not a TTY) unless `input` is given. The
 * environment is the one passed, not the test's (SWITCHYARD_* of the test never leak in).
 */
export async function runCliInProcess(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CliResult> {
  const stdout = new Sink();
  const stderr = new Sink();
  const stdin = opts.input === undefined ? Readable.from([]) : Readable.from([opts.input]);
  const code = await runCli(args, {
    stdout,
    stderr,
    stdin: stdin as unknown as PassThrough,
    env: { NO_COLOR: '1', ...opts.env },
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
