import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/engine.js';

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

  it('the daemon on the file provider with simulated databases loads neither the AWS SDK nor pg or mysql2', () => {
    const mods = loaded(['test/support/daemon-lazy-child.ts']);
    expect(mods.some((m) => m.includes('/src/daemon/daemon.ts'))).toBe(true);
    expect(mods.filter((m) => HEAVY.slice(0, 3).some((h) => m.includes(h)))).toEqual([]);
  }, 60_000);
});
