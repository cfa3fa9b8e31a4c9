import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ROOT } from './engine.js';

/** The daemon run as a child process through the real CLI (`switchyard run`). */
export class DaemonProcess {
  private child: ChildProcess | undefined;
  private out = '';
  exitCode: number | null = null;
  private exited: Promise<number | null> | undefined;

  constructor(
    readonly configPath: string,
    readonly addr: string,
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  start(extra: string[] = []): this {
    this.child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        resolve(ROOT, 'src/cli/main.ts'),
        'run',
        '--config',
        this.configPath,
        '--listen',
        this.addr,
        ...extra,
      ],
      { cwd: ROOT, env: { ...process.env, ...this.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child.stdout?.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
    this.child.stderr?.on('data', (d: Buffer) => {
      this.out += d.toString();
    });
    this.exited = new Promise((res) => {
      this.child?.on('exit', (code) => {
        this.exitCode = code;
        res(code);
      });
    });
    return this;
  }

  /** Everything the daemon logged (pino NDJSON lines and anything on stderr). */
  logs(): string {
    return this.out;
  }

  events(): Array<Record<string, unknown>> {
    return this.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    const r = await fetch(`http://${this.addr}${path}`, { headers, signal: AbortSignal.timeout(5_000) });
    return { status: r.status, body: await r.text() };
  }

  async waitReady(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      async () => {
        if (this.exitCode !== null) throw new Error(`daemon exited with ${this.exitCode}:\n${this.out}`);
        return (await this.get('/readyz').catch(() => ({ status: 0 }))).status === 200;
      },
      timeoutMs,
      'daemon ready',
    );
  }

  /** Resolves with the exit code once the process exits; rejects if it is still running after `timeoutMs`. */
  async waitExit(timeoutMs: number): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`still running after ${timeoutMs}ms:\n${this.out}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited as Promise<number | null>, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  signal(sig: NodeJS.Signals): void {
    this.child?.kill(sig);
  }

  async stop(sig: NodeJS.Signals = 'SIGTERM', timeoutMs = 20_000): Promise<number | null> {
    if (!this.child || this.exitCode !== null) return this.exitCode;
    this.child.kill(sig);
    const t = setTimeout(() => this.child?.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(t);
    return code ?? null;
  }
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
      if (e instanceof Error && e.message.startsWith('daemon exited')) throw e;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Weights per record key and region, from the file DNS provider's document. */
export function dnsWeights(path: string): Record<string, Record<string, number>> {
  try {
    const doc = JSON.parse(readFileSync(path, 'utf8')) as {
      records: Record<string, Record<string, { weight: number }>>;
    };
    return Object.fromEntries(
      Object.entries(doc.records).map(([k, sets]) => [
        k,
        Object.fromEntries(Object.entries(sets).map(([r, s]) => [r, s.weight])),
      ]),
    );
  } catch {
    return {};
  }
}
