import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Helpers shared by the database test harnesses: ports, child processes, temp dirs, polling. */

/** A free loopback port: listen on 0, note the port, close. Callers retry on a later collision. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (errors count as "not yet"), or fails with the last error. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

export interface RunAs {
  uid: number;
  gid: number;
}

/** uid/gid of a local account (the PostgreSQL binaries refuse to run as root). */
export function account(name: string): RunAs {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  throw new Error(`no local account ${name}`);
}

/** Runs a program to completion; rejects with its output on a non-zero exit. */
export function run(
  cmd: string,
  args: string[],
  opts: { as?: RunAs; timeoutMs?: number } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      args,
      { uid: opts.as?.uid, gid: opts.as?.gid, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 4 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** Every server process the harness started in this worker, so a crashed test run still ends them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) if (p.exitCode === null) p.kill('SIGKILL');
});

/** Starts a long-running server with its output appended to `logFile`. */
export function startServer(cmd: string, args: string[], logFile: string, as?: RunAs): ChildProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { uid: as?.uid, gid: as?.gid, stdio: ['ignore', fd, fd] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  child.on('error', () => {});
  return child;
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Sends `signal`, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopProcess(
  child: ChildProcess,
  signal: NodeJS.Signals,
  graceMs = 10_000,
): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** The last lines of a log, for error messages when a server does not come up. */
export function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Starts several clusters at once; if any fails, stops the ones that did start (Promise.all
 * would drop their handles and leak their servers), then rethrows.
 */
export async function startAll<const T extends readonly Promise<{ stop(): Promise<void> }>[]>(
  starts: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const settled = await Promise.allSettled(starts);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (!failed)
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as {
      -readonly [K in keyof T]: Awaited<T[K]>;
    };
  await Promise.all(
    settled.map((s) => (s.status === 'fulfilled' ? s.value.stop().catch(() => {}) : undefined)),
  );
  throw failed.reason;
}

/**
 * First start of a test server on a free port, retrying (a few times) when another process took
 * the port between our probe and the server's bind, as its log says.
 */
export async function bootOnFreePort(
  node: { port: number; logFile: string; start(): Promise<void>; kill(): Promise<void> },
  bindFailure: RegExp,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    node.port = await freePort();
    try {
      await node.start();
      return;
    } catch (e) {
      await node.kill();
      if (attempt < 3 && bindFailure.test(tail(node.logFile, 40))) continue;
      throw e;
    }
  }
}
