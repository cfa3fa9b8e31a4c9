import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpCheckConfig } from '../../src/config/schema.js';
import type { ProbeResult } from '../../src/probe/types.js';
import { ROOT } from '../support/engine.js';
import { startHttpServer, type TestServer } from '../support/http-fixtures.js';

interface ChildReport {
  result: ProbeResult;
  elapsedMs: number;
  maxTimerGapMs: number;
  ticks: number;
}

/** Runs the probe in a child process, killed after `limitMs`: a frozen event loop fails, never hangs. */
function probeInChild(check: HttpCheckConfig, limitMs = 15_000): Promise<ChildReport> {
  const spec = JSON.stringify({ check, timeoutMs: 2_000, maxBodyBytes: 65_536 });
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', resolve(ROOT, 'test/support/probe-in-child.ts'), spec],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(kill);
      if (signal === 'SIGKILL')
        reject(new Error(`the probe process was still busy after ${limitMs} ms (event loop frozen)`));
      else if (code !== 0) reject(new Error(`probe process exited ${code}: ${err}`));
      else resolvePromise(JSON.parse(out.trim().split('\n').at(-1) as string) as ChildReport);
    });
  });
}

const check = (url: string, bodyRegex: string): HttpCheckConfig => ({
  url,
  method: 'GET',
  headers: {},
  expectStatus: [200],
  bodyRegex,
});

/**
 * Issue 8.9: `^(a+)+$` against 40 × "a" then "!" backtracks exponentially in a JavaScript
 * RegExp and froze the daemon. bodyRegex now runs on RE2 (re2js): linear in the body, which
 * itself is bounded by maxBodyBytes.
 */
describe('bodyRegex is matched in linear time', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startHttpServer((req, res) => {
      res.end(req.url === '/evil' ? `${'a'.repeat(40)}!` : 'a'.repeat(40));
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the catastrophic pattern on a non-matching body: a prompt body-mismatch, the event loop never stalls', async () => {
    const r = await probeInChild(check(`${server.origin}/evil`, '^(a+)+$'));
    expect(r.result).toMatchObject({ ok: false, error: 'body-mismatch', status: 200 });
    expect(r.elapsedMs).toBeLessThan(1_500);
    // A 10 ms interval timer kept running: no gap anywhere near a blocked loop.
    expect(r.maxTimerGapMs).toBeLessThan(500);
    expect(r.ticks).toBeGreaterThan(3);
  }, 30_000);

  it('the same pattern on a matching body is a success', async () => {
    const r = await probeInChild(check(`${server.origin}/ok`, '^(a+)+$'));
    expect(r.result).toMatchObject({ ok: true, status: 200 });
    expect(r.elapsedMs).toBeLessThan(1_500);
  }, 30_000);
});
