import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { bodyRegexProblem, compileBodyRegex } from '../../src/probe/body-regex.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { EXAMPLE } from '../support/engine.js';

const example = () => parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, any>;

function withRegex(pattern: string): Record<string, any> {
  const c = example();
  c.regions.r1.keyManager.checks[0].http.bodyRegex = pattern;
  return c;
}

function errorsOf(raw: unknown): string[] {
  try {
    parseConfig(raw, 'test.yaml');
  } catch (e) {
    if (isSwitchyardError(e, 'CONFIG_INVALID')) return [...e.details];
    throw e;
  }
  throw new Error('configuration was accepted');
}

const PATH = 'regions.r1.keyManager.checks[0].http.bodyRegex';

describe('bodyRegex: validated and matched by the same linear-time engine (RE2)', () => {
  it('accepts the patterns health checks use', () => {
    for (const p of ['"status"\\s*:\\s*"(UP|ok)"', '(?i)healthy', '^\\{.*"keys"', '\\bUP\\b', '^(a+)+$'])
      expect(() => parseConfig(withRegex(p), 'test.yaml'), p).not.toThrow();
  });

  it('refuses a backreference, naming the path and the reason', () => {
    const errors = errorsOf(withRegex('(a)\\1'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`${PATH}: not a pattern RE2 accepts`);
    expect(errors[0]).toContain('no backreferences');
  });

  it('refuses lookahead and lookbehind', () => {
    for (const p of ['foo(?=bar)', 'foo(?!bar)', '(?<=a)b', '(?<!a)b']) {
      const errors = errorsOf(withRegex(p));
      expect(errors, p).toHaveLength(1);
      expect(errors[0], p).toMatch(
        new RegExp(`^${PATH.replace(/[.[\]]/g, '\\$&')}: not a pattern RE2 accepts`),
      );
      expect(errors[0], p).toContain('lookahead or lookbehind');
    }
  });

  it('refuses a malformed pattern', () => {
    expect(errorsOf(withRegex('[unclosed'))[0]).toContain('missing closing ]');
  });

  it('what validates is what runs: the problem check and the compiler agree', () => {
    for (const p of ['(a)\\1', 'x(?=y)', '[', '^(a+)+$', 'ok'])
      expect(bodyRegexProblem(p) === undefined, p).toBe(
        (() => {
          try {
            compileBodyRegex(p);
            return true;
          } catch {
            return false;
          }
        })(),
      );
  });

  it('matches in linear time: the catastrophic pattern on 64 KiB of "a" then "!" is immediate', () => {
    const re = compileBodyRegex('^(a+)+$');
    const t0 = performance.now();
    expect(re.test(`${'a'.repeat(40)}!`)).toBe(false);
    expect(re.test(`${'a'.repeat(65_536)}!`)).toBe(false);
    expect(re.test('a'.repeat(40))).toBe(true);
    // Not a timing test of the engine: a backtracking engine would not return at all.
    expect(performance.now() - t0).toBeLessThan(5_000);
  });
});

describe('metrics.probeHistograms', () => {
  it('defaults to false and accepts true; anything else names the path', () => {
    expect(parseConfig(example(), 't').config.metrics.probeHistograms).toBe(false);
    expect(
      parseConfig({ ...example(), metrics: { probeHistograms: true } }, 't').config.metrics.probeHistograms,
    ).toBe(true);
    expect(errorsOf({ ...example(), metrics: { probeHistograms: 'yes' } })[0]).toMatch(
      /^metrics\.probeHistograms: /,
    );
    expect(errorsOf({ ...example(), metrics: { perTarget: true } })[0]).toMatch(/^metrics/);
  });
});
