import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runValidate } from '../../src/cli/validate.js';
import { EXAMPLE } from '../support/engine.js';

/** `switchyard validate` as a function (issue 9.8): what an operator reads, and the exit code. */

const dir = mkdtempSync(join(tmpdir(), 'sy-validate-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function validate(path: string): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const code = runValidate(path, {}, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const example = () => readFileSync(EXAMPLE, 'utf8');

/** The error lines (two-space indented) of the output. */
const errorLines = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('  '))
    .map((l) => l.trim());

describe('switchyard validate', () => {
  it('a valid file: exit 0, one summary line, warnings on stderr', () => {
    const r = validate(EXAMPLE);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: valid — 4 regions .* 1 warning\n$/);
    expect(r.stderr).toMatch(/^warning: policy\.promotion\.mode: automatic promotion with 1 observer/);
  });

  it('five realistic mistakes in one file: all five are reported, schema and cross-checks together', () => {
    const text = example()
      // 1. a typo in a key (schema)
      .replace('recoverAfter: 2m', 'recoverAftr: 2m')
      // 2. a duration written in words (schema)
      .replace('failAfter: 30s', 'failAfter: 30 seconds')
      // 3. an inline password in the main's database (schema)
      .replace('password: env:R1_APIM_DB_PASSWORD', 'password: hunter2')
      // 4. an edge region falling back to another edge (cross-check)
      .replace('failover: [r1, r2]', 'failover: [r4, r2]')
      // 5. the failover region without a replica of the main's "shared" database (cross-check)
      .replace(/ {6}shared:\n {8}engine: postgres\n {8}host: shared-db\.r2\.internal\n(?: {8}.*\n)+/, '');
    expect(text).not.toContain('shared-db.r2.internal'); // the fixture really dropped r2's replica
    const r = validate(file('five.yaml', text));
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe(`CONFIG_INVALID: ${join(dir, 'five.yaml')}: 5 errors`);
    expect(errorLines(r.stderr)).toEqual([
      'policy.failAfter: "30 seconds" is not a duration; write it like "500ms", "2s", "5m" or "1h"',
      'policy.recoverAftr: unknown key (did you mean "recoverAfter"?)',
      'regions.r1.databases.apim.password: must be a secret reference, env:NAME or file:/absolute/path (inline secrets are not accepted)',
      'regions.r2.databases: missing a replica of the main region\'s database "shared"',
      'regions.r3.failover[0]: "r4" is an edge region; traffic fails over only to the main or a failover region',
    ]);
  });

  it('a cross-check never reports a consequence of a schema error', () => {
    // r2's role is invalid: whether it is the failover region, and what it must replicate, is unknown.
    const text = example().replace('role: failover', 'role: standby').replace('gw-2a', 'gw 2a');
    const r = validate(file('consequences.yaml', text));
    expect(r.code).toBe(1);
    const lines = errorLines(r.stderr);
    expect(lines).toEqual([
      'regions.r2.role: expected one of "main"|"failover"|"edge"',
      'regions.r2.gateway.checks[0].name: check names are 1–64 letters, digits, "_", "." or "-"',
    ]);
  });

  it('an alias to an anchor that does not exist: the code, the file and the line', () => {
    const path = file('alias.yaml', example().replace('observers: 1', 'observers: *voters'));
    const r = validate(path);
    expect(r.code).toBe(1);
    const line = example()
      .split('\n')
      .findIndex((l) => l.includes('observers: 1'));
    expect(r.stderr).toContain('CONFIG_UNREADABLE:');
    expect(errorLines(r.stderr)).toEqual([
      `${path}:${line + 1}:14: alias *voters refers to no anchor &voters defined before it`,
    ]);
  });

  it('an alias bomb: refused with the code, the file and the line of the alias that explodes', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (const [prev, name] of [
      ['a', 'b'],
      ['b', 'c'],
      ['c', 'd'],
      ['d', 'e'],
      ['e', 'f'],
    ])
      levels.push(`${name}: &${name} [${Array.from({ length: 10 }, () => `*${prev}`).join(', ')}]`);
    const path = file('bomb.yaml', `${levels.join('\n')}\nregions: {}\n`);
    const t0 = performance.now();
    const r = validate(path);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('CONFIG_UNREADABLE:');
    // Level e (line 5) expands to 111,111 nodes: its aliases *d pass the limit of 100,000 there.
    expect(errorLines(r.stderr)).toEqual([
      `${path}:5:36: alias *d takes the document past 100,000 nodes once aliases are expanded (an alias bomb?); repeat less, or write the blocks out`,
    ]);
  });

  it('a document that reuses a block through an alias is accepted', () => {
    const text = example()
      .replace(
        '    keyManager:\n      checks:\n        - name: km-1',
        '    keyManager: &km\n      checks:\n        - name: km-1',
      )
      .replace(/ {4}keyManager:\n {6}checks:\n {8}- name: km-2\n(?: {10}.*\n)+/, '    keyManager: *km\n');
    expect(text).toContain('keyManager: *km\n');
    const r = validate(file('reuse.yaml', text));
    expect(r.stderr).not.toContain('CONFIG_');
    expect(r.code).toBe(0);
  });

  it('an empty file, or one with only comments: says the file is empty', () => {
    for (const [name, text] of [
      ['empty.yaml', ''],
      ['comments.yaml', '# switchyard\n# todo\n'],
    ] as const) {
      const path = file(name, text);
      const r = validate(path);
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[0]).toBe(`CONFIG_INVALID: ${path}: the file is empty`);
      expect(r.stderr).toContain('needs at least a "regions:" section');
      expect(r.stderr).not.toContain('required (record)');
    }
  });

  it('a missing file: a sentence with the path', () => {
    const path = join(dir, 'nope', 'switchyard.yaml');
    const r = validate(path);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`CONFIG_UNREADABLE: cannot read ${path}: there is no such file (ENOENT)\n`);
  });

  it('a directory: a sentence with the path', () => {
    const path = join(dir, 'conf.d');
    mkdirSync(path, { recursive: true });
    const r = validate(path);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `CONFIG_UNREADABLE: cannot read ${path}: it is a directory, not a configuration file (EISDIR)\n`,
    );
  });
});
