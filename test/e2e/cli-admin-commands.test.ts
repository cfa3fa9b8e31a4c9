import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { runCliInProcess } from '../support/run-cli.js';
import { STUB_TOKEN, type StubDaemon, startStubDaemon } from '../support/stub-daemon.js';

const ENTRY = join(import.meta.dirname, '../../src/cli/main.ts');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real entry point as a child process (smoke tests); stdin is a closed pipe, like a script. */
function spawnCli(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
      env: {
        ...process.env,
        SWITCHYARD_ADDR: undefined,
        SWITCHYARD_ADMIN_ADDR: undefined,
        SWITCHYARD_TOKEN: undefined,
        SWITCHYARD_TOKEN_FILE: undefined,
        NO_COLOR: '1',
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI in process (runCli with buffers): the same code as the program, no process per case. */
const cli = (args: string[], env: Record<string, string> = {}): Promise<Run> => {
  // Writes go to the admin listener: point --admin-addr at the stub's unless a case says otherwise.
  const withAdmin =
    args.includes('--addr') && !args.includes('--admin-addr') ? ['--admin-addr', d.adminAddr] : [];
  return runCliInProcess([...args, ...withAdmin], { env });
};

let d: StubDaemon;
let dir: string;
beforeAll(async () => {
  d = await startStubDaemon();
  dir = await mkdtemp(join(tmpdir(), 'switchyard-cli-'));
});
afterAll(async () => {
  await d.close();
  await rm(dir, { recursive: true, force: true });
});

describe('switchyard status', () => {
  it('prints a readable table without a token', async () => {
    const r = await spawnCli(['status', '--addr', d.addr]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain('main r1, epoch 1');
    expect(r.stdout).toMatch(
      /region\s+configured\s+current\s+gateway\s+keyManager\s+database\.apim\s+database\.shared\s+api\s+auth\s+mgmt/,
    );
    expect(r.stdout).toMatch(/r1 \*\s+main\s+main\s+up 30m/);
    expect(r.stdout).toMatch(/up 30m \(replica, lag 0\.4s\)/);
    expect(r.stdout).toMatch(/api\.r1\.example\.com A\s+api\s+100\s+0\s+-\s+-/);
    expect(r.stdout).toContain('r3 gateway up for 120s: traffic returns');
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('--json prints the status document', async () => {
    const r = await cli(['status', '--json'], { SWITCHYARD_ADDR: d.addr });
    expect(r.code).toBe(EXIT.OK);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ version: 1, main: 'r1', epoch: 1 });
    expect(doc.records).toHaveLength(2);
  });

  it('exits 3 when the daemon is unreachable', async () => {
    // A port that was free a moment ago: bind, note, close.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const r = await spawnCli(['status', '--addr', `127.0.0.1:${port}`]);
    expect(r.code).toBe(EXIT.UNREACHABLE);
    expect(r.stderr).toMatch(/cannot reach the switchyard daemon at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    expect(r.stdout).toBe('');
  });

  it('exits 2 on a usage error', async () => {
    const r = await cli(['status', '--bogus']);
    expect(r.code).toBe(EXIT.USAGE);
  });
});

describe('drain, undrain, freeze, unfreeze', () => {
  it('drain prints what changed; repeating it is not an error', async () => {
    const r = await cli(['drain', 'r3', '--addr', d.addr, '--token', STUB_TOKEN]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toBe('drained r3: its traffic moves to its fallback\n');
    const again = await cli(['drain', 'r3'], {
      SWITCHYARD_ADDR: d.addr,
      SWITCHYARD_ADMIN_ADDR: d.adminAddr,
      SWITCHYARD_TOKEN: STUB_TOKEN,
    });
    expect(again.code).toBe(EXIT.OK);
    expect(again.stdout).toBe('r3 was already drained\n');
    const u = await cli(['undrain', 'r3', '--addr', d.addr, '--json'], { SWITCHYARD_TOKEN: STUB_TOKEN });
    expect(u.code).toBe(EXIT.OK);
    expect(JSON.parse(u.stdout)).toMatchObject({ changed: true, overrides: { drained: [] } });
  });

  it('reads the token from --token-file', async () => {
    const file = join(dir, 'token');
    await writeFile(file, `${STUB_TOKEN}\n`, { mode: 0o600 });
    const r = await cli(['freeze', '--addr', d.addr, '--token-file', file]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toBe('frozen: no traffic changes until unfreeze\n');
    const u = await cli(['unfreeze', '--addr', d.addr], { SWITCHYARD_TOKEN_FILE: file });
    expect(u.code).toBe(EXIT.OK);
    expect(u.stdout).toBe('unfrozen: decisions apply again\n');
  });

  it('exits 4 without a token or with a wrong one, and changes nothing', async () => {
    const none = await cli(['freeze', '--addr', d.addr]);
    expect(none.code).toBe(EXIT.UNAUTHORIZED);
    expect(none.stderr).toMatch(/missing bearer token.*--token-file/);
    const wrong = await cli(['freeze', '--addr', d.addr, '--token', 'nope']);
    expect(wrong.code).toBe(EXIT.UNAUTHORIZED);
    expect(wrong.stderr).toMatch(/invalid bearer token/);
    expect(d.overrides.frozen).toBe(false);
  });

  it('exits 1 for an unknown region, with the daemon message on stderr', async () => {
    const r = await cli(['drain', 'r9', '--addr', d.addr, '--token', STUB_TOKEN]);
    expect(r.code).toBe(EXIT.INVALID);
    expect(r.stderr).toMatch(/^switchyard: unknown region "r9"/);
    expect(r.stdout).toBe('');
  });

  it('exits 2 when the region argument is missing', async () => {
    const r = await cli(['drain', '--addr', d.addr]);
    expect(r.code).toBe(EXIT.USAGE);
  });
});

describe('switchyard failover', () => {
  it('without --yes and no TTY: prints the plan, refuses with exit 1, applies nothing', async () => {
    const before = d.calls.length;
    const r = await cli([
      'failover',
      '--to',
      'r2',
      '--reason',
      'test',
      '--addr',
      d.addr,
      '--token',
      STUB_TOKEN,
    ]);
    expect(r.code).toBe(EXIT.INVALID);
    expect(r.stdout).toContain('failover plan: r1 → r2, epoch 1 → 2');
    expect(r.stdout).toContain('promote r2: databases apim, shared');
    expect(r.stdout).toContain('replica lag: 0.4s / 2.0 KiB (bound 10s / 16.0 MiB)');
    expect(r.stdout).toContain('manage.example.com: r1 100→0, r2 0→100');
    expect(r.stderr).toMatch(/stdin is not a terminal; re-run with --yes/);
    expect(d.calls.slice(before)).toEqual(['failover r2 force=false dryRun=true']);
  });

  it('--dry-run prints the plan and exits 0 without applying', async () => {
    const r = await cli(['failover', '--to', 'r2', '--dry-run', '--addr', d.addr, '--token', STUB_TOKEN]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain('failover plan: r1 → r2');
  });

  it('to the current main: exit 0 (already so)', async () => {
    const r = await cli([
      'failover',
      '--to',
      'r1',
      '--reason',
      't',
      '--yes',
      '--addr',
      d.addr,
      '--token',
      STUB_TOKEN,
    ]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toMatch(/r1 is already the main region/);
  });

  it('blocked by unknown lag without --force: exit 5, nothing applied; --force shows the data-loss warning', async () => {
    d.replicaLag.seconds = null;
    d.replicaLag.bytes = null;
    try {
      const before = d.calls.length;
      const r = await cli([
        'failover',
        '--to',
        'r2',
        '--reason',
        't',
        '--yes',
        '--addr',
        d.addr,
        '--token',
        STUB_TOKEN,
      ]);
      expect(r.code).toBe(EXIT.CONFLICT);
      expect(r.stdout).toContain('replica lag: unknown');
      expect(r.stdout).toContain('only --force goes ahead, losing an unknown amount of data');
      expect(r.stderr).toMatch(/failover not applied: replica lag unknown: use --force/);
      expect(d.calls.slice(before)).toEqual(['failover r2 force=false dryRun=true']);
      const f = await cli([
        'failover',
        '--to',
        'r2',
        '--force',
        '--dry-run',
        '--addr',
        d.addr,
        '--token',
        STUB_TOKEN,
      ]);
      expect(f.code).toBe(EXIT.OK);
      expect(f.stdout).toContain('failover plan: r1 → r2 (FORCED)');
      expect(f.stdout).toMatch(/WARNING: .*not yet replicated .*will be lost/);
    } finally {
      d.replicaLag.seconds = 0.4;
      d.replicaLag.bytes = 2048;
    }
  });

  it('to an edge region: exit 1 (invalid input) with the daemon reason', async () => {
    const r = await cli([
      'failover',
      '--to',
      'r4',
      '--reason',
      't',
      '--yes',
      '--addr',
      d.addr,
      '--token',
      STUB_TOKEN,
    ]);
    expect(r.code).toBe(EXIT.INVALID);
    expect(r.stderr).toMatch(/edge region/);
  });

  it('--json prints the preview as JSON', async () => {
    const r = await cli([
      'failover',
      '--to',
      'r2',
      '--dry-run',
      '--json',
      '--addr',
      d.addr,
      '--token',
      STUB_TOKEN,
    ]);
    expect(r.code).toBe(EXIT.OK);
    expect(JSON.parse(r.stdout)).toMatchObject({
      applied: false,
      dryRun: true,
      plan: { from: 'r1', to: 'r2' },
    });
  });

  it('without a token: exit 4 before anything is shown', async () => {
    const r = await cli(['failover', '--to', 'r2', '--reason', 't', '--yes', '--addr', d.addr]);
    expect(r.code).toBe(EXIT.UNAUTHORIZED);
    expect(r.stdout).toBe('');
  });

  it('with --yes: applies and prints the result (run last: it changes the main)', async () => {
    const r = await spawnCli([
      'failover',
      '--to',
      'r2',
      '--reason',
      'smoke test through the real entry point',
      '--yes',
      '--addr',
      d.addr,
      '--admin-addr',
      d.adminAddr,
      '--token',
      STUB_TOKEN,
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toContain('failover plan: r1 → r2');
    expect(r.stdout).toContain('failover from r1 to r2 applied (epoch 2)');
    const s = await cli(['status', '--json', '--addr', d.addr]);
    expect(JSON.parse(s.stdout)).toMatchObject({ main: 'r2', epoch: 2 });
  });
});
