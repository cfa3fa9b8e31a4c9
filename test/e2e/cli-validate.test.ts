import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../support/cli.js';
import { EXAMPLE } from '../support/engine.js';

/** `switchyard validate` as a process: the exit codes scripts rely on (cases in test/unit/cli-validate). */

const dir = mkdtempSync(join(tmpdir(), 'sy-validate-e2e-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('switchyard validate (process)', () => {
  it('exit 1 with the code, file and line for an alias to nothing; 1 for a directory; 2 for a usage error', () => {
    const alias = join(dir, 'alias.yaml');
    writeFileSync(alias, readFileSync(EXAMPLE, 'utf8').replace('observers: 1', 'observers: *voters'));
    const a = cli(['validate', alias]);
    expect(a.code).toBe(1);
    expect(a.stderr).toMatch(
      new RegExp(`^CONFIG_UNREADABLE: .*\\n  ${alias}:\\d+:\\d+: alias \\*voters refers to no anchor`),
    );

    const d = join(dir, 'conf.d');
    mkdirSync(d);
    expect(cli(['validate', d])).toMatchObject({
      code: 1,
      stderr: `CONFIG_UNREADABLE: cannot read ${d}: it is a directory, not a configuration file (EISDIR)\n`,
    });

    expect(cli(['validate', EXAMPLE, '--no-such-option']).code).toBe(2);
  });
});
