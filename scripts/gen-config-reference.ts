/**
 * Generates docs/configuration.md from the zod schema (src/config/schema.ts): every key with its
 * type, whether it is required, its default, its bounds and its `.describe()` text.
 *
 *   npm run docs:config            # rewrite docs/configuration.md
 *   npm run docs:config -- --check # exit 1 when the committed file differs from the schema
 *
 * The walk is generic over zod 4 schemas (objects, records, arrays, unions, defaults, prefaults,
 * optionals, nullables, pipes/transforms, lazies): keys are never special-cased, so a key added
 * to the schema appears here on the next run. Only the shared field types of src/config/fields.ts
 * (durations, sizes, secret references, …) get friendly names, recognised by identity.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { z } from 'zod';
import {
  dnsName,
  duration,
  hostPort,
  regionId,
  secretRef,
  share,
  size,
  weight,
} from '../src/config/fields.js';
import { configSchema } from '../src/config/schema.js';
import { formatBytes, formatDuration } from '../src/util/duration.js';

export const OUTPUT = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'docs', 'configuration.md');

/** A zod 4 schema seen through its definition: the only parts of zod's internals used here. */
interface Def {
  type: string;
  innerType?: Schema;
  in?: Schema;
  out?: Schema;
  shape?: Record<string, Schema>;
  catchall?: Schema;
  element?: Schema;
  keyType?: Schema;
  valueType?: Schema;
  options?: Schema[];
  left?: Schema;
  right?: Schema;
  entries?: Record<string, string | number>;
  values?: unknown[];
  getter?: () => Schema;
  defaultValue?: unknown;
  checks?: { _zod: { def: CheckDef } }[];
  format?: string;
  protocol?: RegExp;
}
interface CheckDef {
  check: string;
  value?: number | bigint;
  inclusive?: boolean;
  minimum?: number;
  maximum?: number;
  length?: number;
  format?: string;
  pattern?: RegExp;
  protocol?: RegExp;
  error?: (issue: object) => unknown;
}
type Schema = z.ZodType;

const defOf = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The shared field types, by identity of their schema (or of a pipe's input, which clones keep). */
const NAMED: [Schema, string, ((v: unknown) => string)?][] = [
  [duration, 'duration', (v) => (typeof v === 'number' ? `"${formatDuration(v)}"` : JSON.stringify(v))],
  [size, 'size', (v) => (typeof v === 'number' ? `"${formatBytes(v)}"` : JSON.stringify(v))],
  [secretRef, 'secret reference'],
  [regionId, 'region id'],
  [dnsName, 'DNS name'],
  [hostPort, 'host:port'],
  [weight, 'weight'],
  [share, 'share'],
];

type Named = { name: string; format?: (v: unknown) => string };
const behaviourCache = new WeakMap<Schema, Named | null>();

function named(s: Schema): Named | undefined {
  const d = defOf(s);
  for (const [schema, name, format] of NAMED) {
    const nd = defOf(schema);
    if (s === schema || (d.type === 'pipe' && nd.type === 'pipe' && d.in === nd.in))
      return { name, ...(format ? { format } : {}) };
  }
  return d.type === 'pipe' ? (byBehaviour(s) ?? undefined) : undefined;
}

/**
 * A transform built per use (a duration or size with its own bounds, e.g. `durationIn(1s, 1h)`)
 * is not the shared schema, so it is recognised by what it does: it turns "1s" into 1000, or
 * "1KiB" into 1024. Several samples, because bounds reject some.
 */
function byBehaviour(s: Schema): Named | null {
  const cached = behaviourCache.get(s);
  if (cached !== undefined) return cached;
  const turns = (samples: [string, number][]) => samples.some(([text, n]) => s.safeParse(text).data === n);
  const durationFormat = NAMED[0]?.[2];
  const sizeFormat = NAMED[1]?.[2];
  const result: Named | null = turns([
    ['100ms', 100],
    ['1s', 1_000],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1d', 86_400_000],
  ])
    ? { name: 'duration', ...(durationFormat ? { format: durationFormat } : {}) }
    : turns([
          ['1B', 1],
          ['1KiB', 1_024],
          ['1MiB', 1_048_576],
          ['1GiB', 1_073_741_824],
        ])
      ? { name: 'size', ...(sizeFormat ? { format: sizeFormat } : {}) }
      : null;
  behaviourCache.set(s, result);
  return result;
}

/** Peels optional/default/prefault/nullable/readonly/lazy layers, noting what they say. */
interface Peeled {
  core: Schema;
  optional: boolean;
  nullable: boolean;
  hasDefault: boolean;
  defaultValue?: unknown;
  description?: string;
  /** The schema the default was declared on (to format it: a duration's default is in ms). */
  defaultOf?: Schema;
}

function peel(s: Schema): Peeled {
  const p: Peeled = { core: s, optional: false, nullable: false, hasDefault: false };
  for (let i = 0; i < 50; i++) {
    const cur = p.core;
    p.description ??= (cur as { description?: string }).description;
    const d = defOf(cur);
    if (d.type === 'optional' && d.innerType) {
      p.optional = true;
      p.core = d.innerType;
    } else if ((d.type === 'default' || d.type === 'prefault') && d.innerType) {
      if (!p.hasDefault) {
        p.hasDefault = true;
        p.defaultValue = d.defaultValue;
        p.defaultOf = d.innerType;
      }
      p.core = d.innerType;
    } else if ((d.type === 'nullable' || d.type === 'readonly' || d.type === 'catch') && d.innerType) {
      if (d.type === 'nullable') p.nullable = true;
      p.core = d.innerType;
    } else if (d.type === 'lazy' && d.getter)
      // zod caches a lazy schema's inner type; the getter alone would build a new one per call.
      p.core = (cur as unknown as { _zod: { innerType?: Schema } })._zod.innerType ?? d.getter();
    else if (d.type === 'pipe' && d.in && !named(cur))
      p.core = d.in; // a transform or pipe: document what the operator writes, its input
    else break;
  }
  p.description ??= (p.core as { description?: string }).description;
  return p;
}

/** A short type name, e.g. `integer`, `list of region id`, `"GET" | "HEAD"`. */
function typeName(s: Schema, depth = 0): string {
  if (depth > 6) return '…';
  const n = named(s);
  if (n) return n.name;
  const p = peel(s);
  if (p.core !== s) return typeName(p.core, depth + 1) + (p.nullable ? ' or null' : '');
  const d = defOf(s);
  switch (d.type) {
    case 'string':
      return d.format === 'url' || d.checks?.some((c) => c._zod.def.format === 'url') ? 'URL' : 'string';
    case 'number': {
      const int = d.checks?.some(
        (c) => c._zod.def.check === 'number_format' && /int/.test(c._zod.def.format ?? ''),
      );
      return int ? 'integer' : 'number';
    }
    case 'int':
      return 'integer';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return Object.values(d.entries ?? {})
        .map((v) => JSON.stringify(v))
        .join(' | ');
    case 'literal':
      return (d.values ?? []).map((v) => JSON.stringify(v)).join(' | ');
    case 'array':
      return d.element ? `list of ${typeName(d.element, depth + 1)}` : 'list';
    case 'record':
      return `map of ${d.keyType ? typeName(d.keyType, depth + 1) : 'string'} → ${d.valueType ? typeName(d.valueType, depth + 1) : 'value'}`;
    case 'object':
      return 'object';
    case 'union':
      return (d.options ?? []).map((o) => typeName(o, depth + 1)).join(', or ');
    case 'intersection':
      return 'object';
    default:
      return d.type;
  }
}

const fmtNum = (v: number | bigint | undefined) => String(v);

/** Bounds and patterns of the schema itself (not of its children). */
function constraints(s: Schema): string[] {
  const d = defOf(s);
  const out: string[] = [];
  let lo: string | undefined;
  let hi: string | undefined;
  for (const c of d.checks ?? []) {
    const cd = c._zod.def;
    const message = () => {
      const m = typeof cd.error === 'function' ? cd.error({}) : undefined;
      return typeof m === 'string' ? m : undefined;
    };
    switch (cd.check) {
      case 'greater_than':
        lo = `${cd.inclusive ? '≥' : '>'} ${fmtNum(cd.value)}`;
        break;
      case 'less_than':
        hi = `${cd.inclusive ? '≤' : '<'} ${fmtNum(cd.value)}`;
        break;
      case 'min_length':
        out.push(
          d.type === 'array'
            ? `at least ${cd.minimum} item${cd.minimum === 1 ? '' : 's'}`
            : cd.minimum === 1
              ? 'not empty'
              : `at least ${cd.minimum} characters`,
        );
        break;
      case 'max_length':
        out.push(d.type === 'array' ? `at most ${cd.maximum} items` : `at most ${cd.maximum} characters`);
        break;
      case 'length_equals':
        out.push(`exactly ${cd.length} ${d.type === 'array' ? 'items' : 'characters'}`);
        break;
      case 'string_format':
        if (cd.format === 'regex' && cd.pattern) out.push(message() ?? `matches \`${cd.pattern.source}\``);
        else if (cd.format === 'url' && cd.protocol) out.push(`protocol matches \`${cd.protocol.source}\``);
        else if (cd.format && cd.format !== 'url') out.push(cd.format);
        break;
      default:
        break; // number_format is in the type name; custom refinements have no static text
    }
  }
  if (d.format === 'url' && d.protocol) out.push(`protocol matches \`${d.protocol.source}\``);
  const range =
    lo && hi
      ? lo.startsWith('≥') && hi.startsWith('≤')
        ? `${lo.slice(2)}–${hi.slice(2)}`
        : `${lo}, ${hi}`
      : (lo ?? hi);
  if (range) out.unshift(range);
  return out;
}

export interface Row {
  path: string;
  type: string;
  required: boolean;
  default?: string;
  constraints: string;
  description: string;
}

function formatDefault(p: Peeled): string | undefined {
  if (!p.hasDefault) return undefined;
  const n = p.defaultOf ? named(p.defaultOf) : undefined;
  if (n?.format) return n.format(p.defaultValue);
  return JSON.stringify(p.defaultValue);
}

/** The placeholder a map's keys take in a path: `<region>` for region ids, else `<name>`. */
function keyPlaceholder(keyType: Schema | undefined): string {
  if (!keyType) return '<name>';
  return named(keyType)?.name === 'region id' ? '<region>' : '<name>';
}

/** Where an object schema used in several places (a component, TLS options) was documented first. */
type Documented = Map<Schema, string>;

/** Every key under `s`, depth first, in schema order. */
export function walk(
  s: Schema,
  path: string,
  rows: Row[],
  required = true,
  seen = new Set<Schema>(),
  documented: Documented = new Map(),
): Row[] {
  const p = peel(s);
  const first = hasChildren(p.core) ? documented.get(p.core) : undefined;
  if (path !== '') {
    const dflt = formatDefault(p);
    rows.push({
      path,
      type: typeName(s),
      required: required && !p.optional && !p.hasDefault,
      ...(dflt !== undefined ? { default: dflt } : {}),
      // A shared field type is explained once, above the tables, not on every row.
      constraints: named(p.core) ? '' : constraints(p.core).join('; '),
      description: [p.description, first ? `same keys as \`${first}\`` : undefined]
        .filter(Boolean)
        .join('; '),
    });
  }
  if (first !== undefined || seen.has(p.core)) return rows; // documented above, or recursive (lazy)
  if (hasChildren(p.core) && path !== '') documented.set(p.core, path);
  seen.add(p.core);
  children(p.core, path, rows, seen, documented);
  seen.delete(p.core);
  return rows;
}

function children(core: Schema, path: string, rows: Row[], seen: Set<Schema>, documented: Documented): void {
  if (named(core)) return;
  const d = defOf(core);
  const join = (k: string) => (path === '' ? k : `${path}.${k}`);
  if (d.type === 'object')
    for (const [k, v] of Object.entries(d.shape ?? {})) walk(v, join(k), rows, true, seen, documented);
  else if (d.type === 'record' && d.valueType) {
    const vp = peel(d.valueType);
    if (hasChildren(vp.core)) children(vp.core, join(keyPlaceholder(d.keyType)), rows, seen, documented);
  } else if (d.type === 'array' && d.element) {
    const ep = peel(d.element);
    if (hasChildren(ep.core)) children(ep.core, `${path}[]`, rows, seen, documented);
  } else if (d.type === 'union' || d.type === 'intersection')
    for (const o of d.type === 'union' ? (d.options ?? []) : [d.left, d.right]) {
      if (!o) continue;
      const op = peel(o);
      if (hasChildren(op.core)) children(op.core, path, rows, seen, documented);
    }
}

function hasChildren(s: Schema): boolean {
  if (named(s)) return false;
  const d = defOf(s);
  if (d.type === 'object') return Object.keys(d.shape ?? {}).length > 0;
  if (d.type === 'record' && d.valueType) return hasChildren(peel(d.valueType).core);
  if (d.type === 'array' && d.element) return hasChildren(peel(d.element).core);
  if (d.type === 'union') return (d.options ?? []).some((o) => hasChildren(peel(o).core));
  if (d.type === 'intersection')
    return [d.left, d.right].some((o) => o !== undefined && hasChildren(peel(o).core));
  return false;
}

const cell = (s: string | undefined) => (s ?? '').replace(/\|/g, '\\|').replace(/\n+/g, ' ');

export function renderConfigReference(schema: Schema = configSchema): string {
  const rows = walk(schema, '', []);
  const top = [...new Set(rows.map((r) => r.path.split(/[.[]/)[0] as string))];
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated by `npm run docs:config` (scripts/gen-config-reference.ts) from src/config/schema.ts.',
    '     Do not edit by hand: the test suite fails when this file and the schema disagree. -->',
    '',
    'switchyard reads one YAML file (`switchyard run --config <file>`, `switchyard validate <file>`);',
    '[config/switchyard.example.yaml](../config/switchyard.example.yaml) is a commented example.',
    'Every object is strict: an unknown key is an error, reported with its path and a "did you mean".',
    '',
    'How to read the tables:',
    '',
    '- **Key**: the path of the key. `<region>` stands for a region id and `<name>` for any other map',
    '  key; `[]` is an item of a list.',
    '- **Type**: `duration` is a string such as `"500ms"`, `"2s"`, `"5m"`, `"1h"` or `"1d"`; `size` is',
    '  `"512KiB"`, `"16MiB"`, `"1GB"` or a whole number of bytes; `secret reference` is `env:NAME` or',
    '  `file:/absolute/path` (secrets are never written inline); `region id` is lower-case letters,',
    '  digits and `-`, starting with a letter; `weight` is a Route 53 weight, 0–255; `share` is a',
    '  fraction from 0 to 1.',
    '- **Required**: "yes" when the key must be present whenever its parent is. Keys with a default',
    '  may be left out; a default of `{}` means the whole section may be left out and every default',
    '  inside it applies.',
    '',
  ];
  for (const t of top) {
    out.push(`## \`${t}\``, '');
    out.push('| Key | Type | Required | Default | Constraints | Description |');
    out.push('| --- | --- | --- | --- | --- | --- |');
    for (const r of rows.filter(
      (x) => x.path === t || x.path.startsWith(`${t}.`) || x.path.startsWith(`${t}[`),
    ))
      out.push(
        `| \`${r.path}\` | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${r.default !== undefined ? `\`${cell(r.default)}\`` : ''} | ${cell(r.constraints)} | ${cell(r.description)} |`,
      );
    out.push('');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function main(): void {
  const text = renderConfigReference();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(OUTPUT, 'utf8');
    } catch {
      current = '';
    }
    if (current !== text) {
      process.stderr.write(`${OUTPUT} is out of date: run npm run docs:config\n`);
      process.exitCode = 1;
    }
    return;
  }
  writeFileSync(OUTPUT, text);
  process.stdout.write(`wrote ${OUTPUT}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
