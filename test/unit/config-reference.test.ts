import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { OUTPUT, type Row, renderConfigReference, walk } from '../../scripts/gen-config-reference.js';
import { duration, durationIn, regionId, secretRef, size, sizeIn } from '../../src/config/fields.js';
import { ROOT } from '../support/engine.js';

/** docs/configuration.md is generated from the schema; it must never drift from it. */
describe('configuration reference', () => {
  it('docs/configuration.md is what `npm run docs:config` generates from the schema', () => {
    const committed = readFileSync(OUTPUT, 'utf8');
    // On failure: run `npm run docs:config` and commit docs/configuration.md.
    expect(
      committed === renderConfigReference(),
      'docs/configuration.md is stale: run npm run docs:config',
    ).toBe(true);
  });

  it('documents every key the example configuration uses', () => {
    const doc = readFileSync(OUTPUT, 'utf8');
    const documented = new Set([...doc.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]));
    // A schema used twice is documented once; its second place says "same keys as `first`".
    const aliases = [...doc.matchAll(/^\| `([^`]+)` \|.*same keys as `([^`]+)`/gm)].map((m) => [m[1], m[2]]);
    const canonical = (p: string) => {
      for (const [from, to] of aliases)
        if (from && to && (p.startsWith(`${from}.`) || p.startsWith(`${from}[`)))
          return to + p.slice(from.length);
      return p;
    };
    const example = parse(readFileSync(resolve(ROOT, 'config/switchyard.example.yaml'), 'utf8'));
    const used = new Set<string>();
    // Map keys become placeholders: region ids under regions/targets/split, database keys under databases.
    const visit = (v: unknown, path: string, parentKey: string) => {
      if (Array.isArray(v)) {
        for (const x of v) if (x && typeof x === 'object') visit(x, `${path}[]`, '');
        return;
      }
      if (!v || typeof v !== 'object') return;
      for (const [k, child] of Object.entries(v)) {
        const seg = ['regions', 'targets', 'split'].includes(parentKey)
          ? '<region>'
          : parentKey === 'databases'
            ? '<name>'
            : k;
        const p = path === '' ? seg : `${path}.${seg}`;
        if (!seg.startsWith('<')) used.add(p); // a map entry is not a key; its keys are
        visit(child, p, seg.startsWith('<') ? '' : k);
      }
    };
    visit(example, '', '');
    expect(used.size).toBeGreaterThan(50);
    expect([...used].filter((p) => !documented.has(canonical(p)))).toEqual([]);
  });

  it('walks zod 4 schemas generically: objects, records, arrays, unions, defaults, prefaults, pipes, optionals, lazies', () => {
    interface Tree {
      name: string;
      children?: Tree[];
    }
    const tree: z.ZodType<Tree> = z.lazy(() =>
      z.strictObject({ name: z.string(), children: z.array(tree).optional() }),
    );
    const schema = z.strictObject({
      section: z
        .strictObject({
          wait: duration.default(90_000).describe('how long to wait'),
          cap: size.default(1_048_576),
          // built per use, with bounds: recognised by what it does, not by identity
          window: durationIn(60_000, 3_600_000).default(120_000),
          buffer: sizeIn(1_048_576, 1_073_741_824).optional(),
          token: secretRef.optional(),
          count: z.number().int().min(2).max(9).default(3),
          ratio: z.number().gt(0).lt(1).optional(),
          label: z.string().min(1).max(40).nullable().optional(),
        })
        .prefault({})
        .describe('a section'),
      extra: z.strictObject({
        upper: z
          .string()
          .transform((s) => s.toUpperCase())
          .describe('upper-cased on load'),
        piped: z.string().pipe(z.string().min(3)),
      }),
      byRegion: z.record(regionId, z.strictObject({ weight: z.number().int().min(0).max(255) })),
      list: z.array(z.strictObject({ id: z.string().regex(/^[a-z]+$/, 'lower-case letters') })).min(1),
      either: z.union([z.array(regionId).min(1), z.strictObject({ split: z.record(regionId, z.number()) })]),
      both: z.intersection(
        z.strictObject({ left: z.boolean() }),
        z.strictObject({ right: z.string().optional() }),
      ),
      mode: z.enum(['on', 'off']).default('off'),
      version: z.literal(2),
      tree: tree.optional(),
    });
    const rows = walk(schema, '', []);
    const row = (path: string): Row => {
      const r = rows.find((x) => x.path === path);
      if (!r) throw new Error(`no row for ${path}; rows: ${rows.map((x) => x.path).join(', ')}`);
      return r;
    };
    expect(row('section')).toMatchObject({
      type: 'object',
      required: false,
      default: '{}',
      description: 'a section',
    });
    expect(row('section.wait')).toMatchObject({
      type: 'duration',
      default: '"1m30s"',
      description: 'how long to wait',
    });
    expect(row('section.cap')).toMatchObject({ type: 'size', default: '"1MiB"' });
    expect(row('section.window')).toMatchObject({ type: 'duration', default: '"2m"' });
    expect(row('section.buffer')).toMatchObject({ type: 'size', required: false });
    expect(row('section.token')).toMatchObject({ type: 'secret reference', required: false });
    expect(row('section.count')).toMatchObject({ type: 'integer', default: '3', constraints: '2–9' });
    expect(row('section.ratio')).toMatchObject({ type: 'number', constraints: '> 0, < 1' });
    expect(row('section.label')).toMatchObject({
      type: 'string or null',
      constraints: 'not empty; at most 40 characters',
    });
    expect(row('extra.upper')).toMatchObject({
      type: 'string',
      required: true,
      description: 'upper-cased on load',
    });
    expect(row('extra.piped')).toMatchObject({ type: 'string', required: true });
    expect(row('byRegion')).toMatchObject({ type: 'map of region id → object', required: true });
    expect(row('byRegion.<region>.weight')).toMatchObject({ type: 'integer', constraints: '0–255' });
    expect(row('list')).toMatchObject({ type: 'list of object', constraints: 'at least 1 item' });
    expect(row('list[].id')).toMatchObject({ constraints: 'lower-case letters' });
    expect(row('either')).toMatchObject({ type: 'list of region id, or object' });
    expect(row('either.split')).toMatchObject({ type: 'map of region id → number' });
    expect(row('mode')).toMatchObject({ type: '"on" | "off"', default: '"off"' });
    expect(row('both')).toMatchObject({ type: 'object', required: true });
    expect(row('both.left')).toMatchObject({ type: 'boolean', required: true });
    expect(row('both.right')).toMatchObject({ type: 'string', required: false });
    expect(row('version')).toMatchObject({ type: '2', required: true });
    // A recursive schema is documented once, not forever.
    expect(row('tree.children')).toMatchObject({ type: 'list of object' });
    expect(rows.filter((r) => r.path.startsWith('tree.')).length).toBeLessThan(6);
  });
});
