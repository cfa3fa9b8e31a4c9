import { closeSync, openSync, writeSync } from 'node:fs';
import type { OutStream } from '../cli/io.js';

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/**
 * Where the demo daemon's log goes: every JSON line to a file (for `tail -f` or `jq`), and only
 * warnings and errors to the terminal, as one short readable line each — so the "Try…" banner
 * stays on screen instead of scrolling away under NDJSON.
 */
export class DemoLogDestination {
  private readonly fd: number;

  constructor(
    readonly file: string,
    private readonly terminal: OutStream,
    private readonly terminalLevel = 'warn',
  ) {
    this.fd = openSync(file, 'a');
  }

  write(line: string): void {
    writeSync(this.fd, line);
    let e: { level?: string; time?: string; msg?: string; module?: string; reason?: string };
    try {
      e = JSON.parse(line) as typeof e;
    } catch {
      return; // not a pino line: the file has it
    }
    if ((LEVELS[e.level ?? 'info'] ?? 30) < (LEVELS[this.terminalLevel] ?? 40)) return;
    const time = (e.time ?? '').slice(11, 19);
    const why = e.reason && !e.msg?.includes(e.reason) ? ` (${e.reason})` : '';
    this.terminal.write(
      `  ${time} ${e.level?.toUpperCase()} ${e.module ? `${e.module}: ` : ''}${e.msg}${why}\n`,
    );
  }

  close(): void {
    closeSync(this.fd);
  }
}
