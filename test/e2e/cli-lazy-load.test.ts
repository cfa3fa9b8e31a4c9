import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registrationsFor } from '../../src/cli/cli.js';
import { EXIT } from '../../src/cli/exit-codes.js';
import { ROOT } from '../support/engine.js';
import { runCliInProcess as cli } from '../support/run-cli.js';

/**
 * Each command loads what it needs when it runs: `--version`, `status` and the overrides never
 * load the daemon, the AWS SDK, pg, mysql2, zod or undici; the daemon on the file provider with
 * no SQL database loads neither the AWS SDK nor a driver.
 */
const HEAVY = [
  '/node_modules/@aws-sdk/',
  '/node_modules/pg/',
  '/node_modules/mysql2/',
  '/node_modules/undici/',
];

function loaded(args: string[]): string[] {
  const trace = join(mkdtempSync(join(tmpdir(), 'sy-trace-')), 'modules.txt');
  const r = spawnSync(
    process.execPath,
    ['--import', resolve(ROOT, 'test/support/module-trace.mjs'), '--import', 'tsx', ...args],
    { cwd: ROOT, env: { ...process.env, SY_MODULE_TRACE: trace }, encoding: 'utf8', timeout: 60_000 },
  );
  expect(r.status, r.stderr).not.toBeNull();
  try {
    return readFileSync(trace, 'utf8').trim().split('\n');
  } catch {
    return [];
  }
}

describe('lazy loading', () => {
  it('--version and status load no daemon, SDK, driver, zod or undici', () => {
    for (const argv of [
      ['src/cli/main.ts', '--version'],
      ['src/cli/main.ts', 'status', '--addr', '127.0.0.1:1'],
      ['src/cli/main.ts', 'drain', 'r3', '--admin-addr', '127.0.0.1:1', '--token', 't'],
    ]) {
      const mods = loaded(argv);
      expect(
        mods.some((m) => m.endsWith('/src/cli/main.ts')),
        argv.join(' '),
      ).toBe(true);
      const heavy = mods.filter((m) =>
        [...HEAVY, '/src/daemon/', '/node_modules/zod/'].some((h) => m.includes(h)),
      );
      expect(heavy, argv.join(' ')).toEqual([]);
    }
  }, 60_000);

  it('an override command loads its own registration and nothing of the other commands, nor commander through its ESM wrapper', () => {
    const mods = loaded(['src/cli/main.ts', 'drain', 'r3', '--admin-addr', '127.0.0.1:1', '--token', 't']);
    const ours = mods
      .filter((m) => m.includes('/src/'))
      .map((m) => m.replace(/^.*\/src\//, ''))
      .sort();
    expect([...new Set(ours)]).toEqual([
      'cli/admin-client.ts',
      'cli/cli.ts',
      'cli/commander.ts',
      'cli/drain.ts',
      'cli/exit-codes.ts',
      'cli/io.ts',
      'cli/main.ts',
      'cli/override-command.ts',
      'util/errors.ts',
    ]);
    // commander is CommonJS: required, not imported through esm.mjs (cjs-module-lexer and translation).
    expect(mods.filter((m) => m.includes('/node_modules/commander/'))).toEqual([]);
  }, 60_000);

  it('loading one command leaves help, global options before the command and "did you mean" intact', async () => {
    expect(registrationsFor(['--addr', 'drain', 'status']).length).toBe(1); // "drain" is --addr's value
    expect(registrationsFor(['--version'])).toEqual([]);
    const help = await cli(['help']);
    for (const c of ['run', 'status', 'drain', 'undrain', 'freeze', 'unfreeze', 'failover', 'switchover'])
      expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    for (const c of ['validate', 'plan', 'demo', 'sim'])
      expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    const typo = await cli(['drian', 'r4']);
    expect(typo.code).toBe(EXIT.USAGE);
    expect(typo.stderr).toContain('(Did you mean drain?)');
    const global = await cli(['--admin-addr', '127.0.0.1:1', '--token', 't', 'undrain', 'r4']);
    expect(global.code).toBe(EXIT.UNREACHABLE);
    expect(global.stderr).toContain('http://127.0.0.1:1');
  });

  it('the daemon on the file provider with simulated databases loads neither the AWS SDK nor pg or mysql2', () => {
    const mods = loaded(['test/support/daemon-lazy-child.ts']);
    expect(mods.some((m) => m.includes('/src/daemon/daemon.ts'))).toBe(true);
    expect(mods.filter((m) => HEAVY.slice(0, 3).some((h) => m.includes(h)))).toEqual([]);
  }, 60_000);
});
