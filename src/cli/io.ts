import type { ExitCode } from './exit-codes.js';

/** Where a command writes: process streams in the real CLI, buffers in tests. */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** What a command reads interactively (the confirmation prompt). */
export type InStream = NodeJS.ReadableStream & { isTTY?: boolean };

export interface CliIo {
  stdout: OutStream;
  stderr: OutStream;
  stdin: InStream;
  env: NodeJS.ProcessEnv;
}

/**
 * One invocation's context: its streams and its exit code. Commands never touch `process.*`
 * directly, so the whole CLI runs in process (tests) exactly as it does as a program.
 */
export class CliContext {
  exitCode: ExitCode = 0;
  constructor(readonly io: CliIo) {}

  out(text: string): void {
    this.io.stdout.write(text);
  }
  err(text: string): void {
    this.io.stderr.write(text);
  }
  /** Sets the exit code; the first non-zero code set wins. */
  fail(code: ExitCode): void {
    if (this.exitCode === 0) this.exitCode = code;
  }
}
