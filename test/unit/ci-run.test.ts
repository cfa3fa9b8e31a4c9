import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/engine.js';

/**
 * .ci/run (issue 12, item 8; issue 9's tty test): it installs every program the tests start
 * (bsdutils for `script` among them), keeps the services those packages ship from running, and
 * writes logs without colour codes.
 */
const script = readFileSync(resolve(ROOT, '.ci/run'), 'utf8');
// From `need=()` to the install step (`if [ ${#need[@]} -gt 0 ]`).
const detection = script.slice(script.indexOf('need=()'), script.indexOf('\nif [ '));

/** The packages the detection part of .ci/run would install with `path` as PATH. */
function needed(path: string): string[] {
  const r = spawnSync('/bin/bash', ['-c', `${detection}\necho "\${need[*]}"`], {
    env: { PATH: path },
    encoding: 'utf8',
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.trim().split(/\s+/).filter(Boolean);
}

describe('.ci/run', () => {
  it('installs the package of every program the tests run when it is missing, bsdutils for script included', () => {
    // Chromium is checked by its path (/usr/bin/chromium, what the tests launch), not on PATH.
    expect(needed('/nonexistent').sort()).toEqual(
      [
        'bsdutils',
        'etcd-client',
        'etcd-server',
        'mariadb-server',
        'openssl',
        'postgresql',
        'prometheus',
        'util-linux',
      ].sort(),
    );
  });

  it('installs nothing on a machine that has them (each check names the right program)', () => {
    // This machine runs the suite, so every program is here; chromium and PostgreSQL are found
    // by path, the rest on PATH.
    expect(needed(process.env.PATH ?? '/usr/bin:/bin')).toEqual([]);
  });

  it('keeps packaged services from starting, and fails when one runs anyway', () => {
    expect(script).toContain('printf \'#!/bin/sh\\nexit 101\\n\' >"$policy"');
    expect(script.indexOf('policy-rc.d')).toBeLessThan(script.indexOf('apt-get install'));
    expect(script).toMatch(/services\+=\(prometheus\)/);
    expect(script).toMatch(/services\+=\(etcd\)/);
    expect(script).toMatch(/if pgrep -x "\$s" >\/dev\/null; then[\s\S]*exit 1/);
  });

  it('writes logs without colour codes', () => {
    expect(script).toMatch(/^export NO_COLOR=1 FORCE_COLOR=0 npm_config_color=false$/m);
    expect(script).toContain('npm run lint -- --colors=off');
    expect(script).toContain('npm run typecheck -- --pretty false');
  });
});
