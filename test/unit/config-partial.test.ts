import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkConfig } from '../../src/config/load.js';
import { EXAMPLE } from '../support/engine.js';

/**
 * The cross-checks run on whatever part of a document passed the schema (issue 9.8). Whatever
 * is broken, they must neither crash nor report a consequence of a part that failed.
 */

const example = () => parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, unknown>;

/** Every path to a value in the document. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [at];
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) out.push(...paths(x, [...at, i]));
  } else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, k]));
  return out;
}

function setAt(doc: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let v: unknown = doc;
  for (const p of path.slice(0, -1)) v = (v as Record<string | number, unknown>)[p];
  const last = path[path.length - 1] as string | number;
  if (value === undefined && !Array.isArray(v)) delete (v as Record<string | number, unknown>)[last];
  else (v as Record<string | number, unknown>)[last] = value;
}

const junk = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.integer({ min: -5, max: 1_000 }),
  fc.constantFrom('', 'r9', 'main', 'edge', '0ms', '30d', 'env:X', 'hunter2', 'not a url'),
  fc.constant([]),
  fc.constant({}),
  fc.constant(['r1', 'r9']),
);

describe('cross-checks on a partly broken document', () => {
  const all = paths(example()).filter((p) => p.length > 0);

  it('never crash, whatever is broken and how (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: all.length - 1 }), junk), { minLength: 1, maxLength: 6 }),
        (edits) => {
          const doc = example();
          for (const [i, value] of edits) {
            const path = all[i] as (string | number)[];
            try {
              setAt(doc, path, value);
            } catch {
              // an earlier edit removed the parent: nothing to set
            }
          }
          const result = checkConfig(doc);
          expect(Array.isArray(result.errors)).toBe(true);
          for (const line of result.errors) expect(line).toMatch(/^[^\s:]+(\[\d+\])*[^\s]*: /);
          if (result.config) expect(result.errors).toEqual([]);
        },
      ),
      { numRuns: 400, seed: 8_008 },
    );
  });

  it('a region that fails as a whole silences the checks that need it, not the others', () => {
    const doc = example() as {
      regions: Record<string, unknown>;
      records: { targets: Record<string, unknown> }[];
    };
    doc.regions.r2 = 'failover';
    (doc.regions.r3 as { failover: string[] }).failover = ['r2', 'r9'];
    const { errors } = checkConfig(doc);
    expect(errors).toEqual([
      'regions.r2: expected object, received string',
      'regions.r3.failover[1]: unknown region "r9"',
    ]);
  });

  it('a misspelt region id or component: named once, with no "unknown region" or "needs a gateway" after it', () => {
    const doc = example() as any;
    doc.regions.R5 = { role: 'edge', gateway: doc.regions.r3.gateway };
    doc.records[0].targets.R5 = { values: ['192.0.2.9'] };
    doc.regions.r4.failover = ['R5'];
    doc.regions.r1.gatway = doc.regions.r1.gateway;
    delete doc.regions.r1.gateway;
    expect(checkConfig(doc).errors).toEqual([
      'regions.r1.gatway: unknown key (did you mean "gateway"?)',
      'regions.r4.failover[0]: region ids are lower-case letters, digits and "-", starting with a letter',
      'regions.R5: invalid key: region ids are lower-case letters, digits and "-", starting with a letter',
      'records[0].targets.R5: invalid key: region ids are lower-case letters, digits and "-", starting with a letter',
    ]);
  });
});
