import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { adminSettings } from '../../src/server/admin-config.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { EXAMPLE } from '../support/engine.js';
import { runCliInProcess } from '../support/run-cli.js';

// The example configuration, without its admin section: valid, so each case varies one thing.
const example = parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;
const { admin: _admin, ...base } = example;
const dir = example.director as Record<string, unknown>;

describe('admin settings: the admin listener and its tokens', () => {
  it('defaults: its own loopback listener, no token (disabled)', () => {
    const s = adminSettings(parseConfig(base).config);
    expect(s).toMatchObject({ listen: '127.0.0.1:9465', allowNonLoopback: false, tokens: [], warnings: [] });
  });

  it('admin.token is "admin"; admin.tokens keep their names', () => {
    const { config } = parseConfig({
      ...base,
      admin: {
        token: 'env:ROOT',
        tokens: [
          { name: 'alice', token: 'env:ALICE' },
          { name: 'bob', token: 'file:/run/bob' },
        ],
      },
    });
    expect(adminSettings(config).tokens).toEqual([
      { name: 'admin', ref: 'env:ROOT' },
      { name: 'alice', ref: 'env:ALICE' },
      { name: 'bob', ref: 'file:/run/bob' },
    ]);
  });

  it('director.adminToken still works, with a warning naming the new path', () => {
    const s = adminSettings(parseConfig({ ...base, director: { ...dir, adminToken: 'env:OLD' } }).config);
    expect(s.tokens).toEqual([{ name: 'admin', ref: 'env:OLD' }]);
    expect(s.warnings).toEqual([
      { path: 'director.adminToken', message: expect.stringContaining('move it to admin.token') },
    ]);
    const both = adminSettings(
      parseConfig({ ...base, director: { ...dir, adminToken: 'env:OLD' }, admin: { token: 'env:NEW' } })
        .config,
    );
    expect(both.tokens).toEqual([{ name: 'admin', ref: 'env:NEW' }]);
    expect(both.warnings[0]?.message).toContain('ignored');
  });

  it('rejects duplicate token names, inline secrets, and names that are not identities, with paths', () => {
    try {
      parseConfig({
        ...base,
        admin: {
          tokens: [
            { name: 'alice', token: 'env:A' },
            { name: 'alice', token: 'env:B' },
            { name: 'has space', token: 'plain-secret' },
          ],
        },
      });
      expect.unreachable();
    } catch (e) {
      expect(isSwitchyardError(e, 'CONFIG_INVALID')).toBe(true);
      const details = (e as { details: string[] }).details.join('\n');
      expect(details).toContain('admin.tokens[1].name: duplicate token name "alice"');
      expect(details).toMatch(/admin\.tokens\[2\]\.name: token names are/);
      expect(details).toMatch(/admin\.tokens\[2\]\.token: must be a secret reference/);
    }
  });

  it('validate prints the deprecation as a warning', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const tmp = mkdtempSync(join(tmpdir(), 'sy-admin-cfg-'));
    const file = join(tmp, 'c.yaml');
    writeFileSync(
      file,
      readFileSync(EXAMPLE, 'utf8')
        .replace('  token: env:SWITCHYARD_ADMIN_TOKEN', '')
        .replace('  observers: 1', '  observers: 1\n  adminToken: env:OLD'),
    );
    const r = await runCliInProcess(['validate', file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('warning: director.adminToken: deprecated: move it to admin.token');
  });
});
