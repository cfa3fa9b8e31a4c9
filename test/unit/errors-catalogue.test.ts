import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/util/errors.js';
import { ROOT } from '../support/engine.js';

describe('error catalogue', () => {
  it('documents every error code in docs/errors.md, and nothing else', () => {
    const doc = readFileSync(resolve(ROOT, 'docs/errors.md'), 'utf8');
    const documented = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('says for every code whether it is retryable, as the catalogue does', () => {
    const doc = readFileSync(resolve(ROOT, 'docs/errors.md'), 'utf8');
    const rows = [...doc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|\s*(yes|no)\s*\|/gm)];
    expect(rows.length).toBe(Object.keys(ERROR_CODES).length);
    for (const [, code, yes] of rows)
      expect([code, yes === 'yes']).toEqual([code, ERROR_CODES[code as keyof typeof ERROR_CODES].retryable]);
  });
});

describe('errors raised on purpose', () => {
  it('are catalogued SwitchyardErrors: no plain Error is thrown anywhere in src/', () => {
    // status-page.ts holds the page's own browser script as a string: not switchyard's code paths.
    const files = readdirSync(resolve(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter(
      (f) => f.endsWith('.ts') && f !== 'server/status-page.ts',
    );
    const plain: string[] = [];
    for (const f of files) {
      const text = readFileSync(resolve(ROOT, 'src', f), 'utf8');
      for (const [i, line] of text.split('\n').entries())
        if (/throw new Error\(|new Error\(/.test(line)) plain.push(`src/${f}:${i + 1}: ${line.trim()}`);
    }
    expect(plain).toEqual([]);
  });
});
