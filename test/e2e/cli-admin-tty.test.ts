import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { STUB_TOKEN, type StubDaemon, startStubDaemon } from '../support/stub-daemon.js';

const ENTRY = join(import.meta.dirname, '../../src/cli/main.ts');
// `script` (Debian bsdutils, installed by .ci/run) gives the CLI a pseudo-terminal, so the
// interactive confirmation runs for real. No skip when it is missing: the case fails, saying so.
function requireScript(): void {
  const r = spawnSync('script', ['--version']);
  if (r.status !== 0)
    throw new Error('`script` is not installed (Debian package bsdutils; .ci/run installs it)');
}

function cliOnTty(args: string[], answer: string): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, '--import', 'tsx', ENTRY, ...args].map((a) => `'${a}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { ...process.env, NO_COLOR: '1', SWITCHYARD_TOKEN: STUB_TOKEN },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    let answered = false;
    child.stdout.on('data', (c) => {
      output += c;
      if (!answered && output.includes('to confirm the failover:')) {
        answered = true;
        child.stdin.write(`${answer}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('switchyard failover on a terminal', () => {
  let d: StubDaemon;
  beforeAll(async () => {
    requireScript();
    d = await startStubDaemon();
  });
  afterAll(async () => {
    await d?.close();
  });

  it('asks for the region id; a wrong answer applies nothing and exits 1', async () => {
    const r = await cliOnTty(
      ['failover', '--to', 'r2', '--reason', 'tty test', '--addr', d.addr, '--admin-addr', d.adminAddr],
      'r3',
    );
    expect(r.output).toContain('failover plan: r1 → r2');
    expect(r.output).toContain('type the region id (r2) to confirm the failover:');
    expect(r.output).toContain('confirmation did not match');
    expect(r.code).toBe(EXIT.INVALID);
    expect(d.calls).toEqual(['failover r2 force=false dryRun=true']);
  });

  it('typing the region id applies the failover', async () => {
    const r = await cliOnTty(
      ['failover', '--to', 'r2', '--reason', 'tty test', '--addr', d.addr, '--admin-addr', d.adminAddr],
      'r2',
    );
    expect(r.output).toContain('failover from r1 to r2 applied (epoch 2)');
    expect(r.code).toBe(EXIT.OK);
    expect(d.calls.at(-1)).toBe('failover r2 force=false dryRun=false');
  });
});
