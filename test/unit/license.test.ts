import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/engine.js';

/**
 * The LICENSE file is the licence package.json declares, word for word, and ships in the npm
 * package (issue 12, item 7).
 */
const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as {
  license: string;
  files: string[];
};
const license = readFileSync(resolve(ROOT, 'LICENSE'), 'utf8');

/** SHA-256 of the canonical text with every run of white space made one space (layout aside). */
const CANONICAL: Record<string, { title: RegExp; sha256: string }> = {
  // https://www.apache.org/licenses/LICENSE-2.0.txt (= Debian's /usr/share/common-licenses/Apache-2.0)
  'Apache-2.0': {
    title: /^\s*Apache License\s+Version 2\.0, January 2004\s/,
    sha256: '0ffddef9e48f8a09aed5caf2d44f7ba1c1be2d9b8e0a6f693b1635b2d5566645',
  },
};

function normalisedSha256(text: string): string {
  return createHash('sha256').update(text.replace(/\s+/g, ' ').trim()).digest('hex');
}

describe('LICENSE', () => {
  it('is, word for word, the licence package.json declares', () => {
    const known = CANONICAL[pkg.license];
    expect(known, `package.json license "${pkg.license}" has no canonical text here`).toBeDefined();
    expect(license).toMatch(known?.title ?? /$^/);
    expect(normalisedSha256(license)).toBe(known?.sha256);
  });

  it('the check would catch an edit of one word', () => {
    expect(normalisedSha256(license.replace('perpetual', 'temporary'))).not.toBe(
      CANONICAL['Apache-2.0']?.sha256,
    );
  });

  it('is in the npm package (package.json files, and what npm pack would put in the tarball)', () => {
    expect(pkg.files).toContain('LICENSE');
    // --ignore-scripts: list the contents without the prepack build.
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const [packed] = JSON.parse(out) as Array<{ files: Array<{ path: string }> }>;
    expect(packed?.files.map((f) => f.path)).toContain('LICENSE');
  }, 60_000);
});
