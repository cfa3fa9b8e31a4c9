import { readFileSync } from 'node:fs';
import { type Document, isAlias, isMap, isPair, isSeq, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { SwitchyardError } from '../util/errors.js';
import { crossCheck, type Finding, Gaps } from './crosscheck.js';
import { formatZodIssues } from './issues.js';
import { gapsOf, salvage } from './salvage.js';
import { type Config, configSchema } from './schema.js';

export interface LoadedConfig {
  config: Config;
  warnings: Finding[];
  source: string;
}

/** Every problem of a document, schema and cross-checks together, each line naming its path. */
export interface ConfigCheck {
  /** The parsed configuration; undefined when there are errors. */
  config?: Config;
  errors: string[];
  warnings: Finding[];
}

/**
 * Aliases may repeat a block (one set of checks for every region); expanded, a document may not
 * exceed this many nodes. A few hundred is a large configuration; an "alias bomb" is billions.
 */
export const MAX_EXPANDED_NODES = 100_000;

type ParseCode = 'CONFIG_UNREADABLE' | 'SCENARIO_INVALID';

/**
 * Parses YAML text into a plain value. Syntax errors, aliases to undefined anchors and alias
 * bombs become lines `file:line:col: message`. An empty document (nothing, or only comments)
 * is `{}`, unless `empty: 'error'` (a configuration file needs content; a scenario does not).
 */
export function parseYaml(
  text: string,
  source: string,
  code: ParseCode,
  opts: { empty?: 'allow' | 'error' } = {},
): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number) => {
    const pos = lineCounter.linePos(offset);
    return `${source}:${pos.line}:${pos.col}`;
  };
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => `${at(e.pos[0])}: ${e.message.split('\n')[0]}`);
    throw new SwitchyardError(code, `${source} is not valid YAML`, lines);
  }
  if (doc.contents === null) {
    if (opts.empty === 'error')
      throw new SwitchyardError('CONFIG_INVALID', `${source}: the file is empty`, [
        `${source} contains no configuration (it is empty, or only comments); a configuration needs at least a "regions:" section — start from config/switchyard.example.yaml`,
      ]);
    return {};
  }
  if (!isMap(doc.contents))
    throw new SwitchyardError(code, `${source} must be a YAML mapping at the top level`, [
      '(top level): expected a mapping of keys to values',
    ]);
  const aliasProblem = checkAliases(doc);
  if (aliasProblem)
    throw new SwitchyardError(code, `${source}: ${aliasProblem.summary}`, [
      `${at(aliasProblem.offset)}: ${aliasProblem.message}`,
    ]);
  // The expansion was bounded above, precisely and with a position; the library's own coarser
  // alias count would reject a large document that merely reuses blocks.
  return doc.toJS({ maxAliasCount: -1 }) ?? {};
}

interface AliasProblem {
  summary: string;
  message: string;
  offset: number;
}

/**
 * Finds the first alias (in document order) that names no anchor defined before it, refers to
 * the node that contains it, or takes the expanded document past MAX_EXPANDED_NODES. Sizes are
 * memoised per node, so this costs the size of the document, not of its expansion.
 */
function checkAliases(doc: Document): AliasProblem | undefined {
  const sizes = new Map<unknown, number>();
  const open = new Set<unknown>();
  let expanded = 0;
  let problem: AliasProblem | undefined;
  const fail = (offset: number, summary: string, message: string) => {
    problem ??= { summary, message, offset };
  };
  /** Expanded size of a node; adds what it contributes to the document to `expanded`. */
  const sizeOf = (node: unknown): number => {
    if (problem || node === null || node === undefined) return 0;
    if (isAlias(node)) {
      const offset = node.range?.[0] ?? 0;
      const target = node.resolve(doc);
      if (!target) {
        fail(
          offset,
          `alias *${node.source} names no anchor`,
          `alias *${node.source} refers to no anchor &${node.source} defined before it`,
        );
        return 0;
      }
      if (open.has(target)) {
        fail(
          offset,
          `alias *${node.source} refers to itself`,
          `alias *${node.source} refers to the node that contains it (an endless document)`,
        );
        return 0;
      }
      const n = sizes.get(target) ?? sizeOf(target);
      expanded += n;
      if (expanded > MAX_EXPANDED_NODES)
        fail(
          offset,
          'aliases expand the document too far',
          `alias *${node.source} takes the document past ${MAX_EXPANDED_NODES.toLocaleString('en')} nodes once aliases are expanded (an alias bomb?); repeat less, or write the blocks out`,
        );
      return n;
    }
    if (isPair(node)) return sizeOf(node.key) + sizeOf(node.value);
    const memo = sizes.get(node);
    if (memo !== undefined) return memo;
    expanded += 1;
    let n = 1;
    if (isMap(node) || isSeq(node)) {
      open.add(node);
      for (const item of node.items) n += sizeOf(item);
      open.delete(node);
    }
    sizes.set(node, n);
    return n;
  };
  sizeOf(doc.contents);
  return problem;
}

/** Validates an already parsed document: the schema, then every cross-check the parsed parts allow. */
export function checkConfig(raw: unknown): ConfigCheck {
  const result = configSchema.safeParse(raw, { reportInput: true });
  if (result.success) {
    const { errors, warnings } = crossCheck(result.data);
    return {
      ...(errors.length === 0 ? { config: result.data } : {}),
      errors: errors.map((e) => `${e.path}: ${e.message}`),
      warnings,
    };
  }
  const schemaLines = formatZodIssues(result.error, (path) => knownKeys(path));
  const gaps = new Gaps(gapsOf(result.error, raw, knownKeys));
  const partial = salvage(configSchema, raw) as Config;
  const { errors, warnings } = crossCheck(partial, gaps);
  const lines = [...schemaLines];
  for (const e of errors) {
    const line = `${e.path}: ${e.message}`;
    if (!lines.includes(line)) lines.push(line);
  }
  return { errors: lines, warnings };
}

/** Validates an already parsed document (from YAML or elsewhere). Throws CONFIG_INVALID with every problem. */
export function parseConfig(raw: unknown, source = 'config'): LoadedConfig {
  const { config, errors, warnings } = checkConfig(raw);
  if (!config || errors.length > 0)
    throw new SwitchyardError('CONFIG_INVALID', `${source}: ${plural(errors.length, 'error')}`, errors);
  return { config, warnings, source };
}

/** The YAML of a configuration file as a plain value (an empty file is an error, with a sentence). */
export function parseConfigYaml(text: string, source: string): unknown {
  return parseYaml(text, source, 'CONFIG_UNREADABLE', { empty: 'error' });
}

export function loadConfigText(text: string, source: string): LoadedConfig {
  return parseConfig(parseConfigYaml(text, source), source);
}

/** Reads a configuration file, turning the file system's codes into a sentence with the path. */
export function readConfigFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why: Record<string, string> = {
      ENOENT: 'there is no such file',
      EISDIR: 'it is a directory, not a configuration file',
      EACCES: 'permission denied (the file is not readable by this user)',
      EPERM: 'permission denied',
      ENOTDIR: 'a part of the path is not a directory',
      ELOOP: 'too many symbolic links in the path',
      ENAMETOOLONG: 'the path is too long',
    };
    const known = code ? why[code] : undefined;
    const reason = known ? `${known} (${code})` : `${code ?? 'error'}: ${(e as Error).message}`;
    throw new SwitchyardError('CONFIG_UNREADABLE', `cannot read ${path}: ${reason}`, [], { cause: e });
  }
}

export function loadConfig(path: string): LoadedConfig {
  return loadConfigText(readConfigFile(path), path);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** The keys the schema accepts at a path, for "did you mean" hints. */
function knownKeys(path: readonly PropertyKey[]): string[] {
  let node: z.ZodType = configSchema;
  for (const p of path) {
    const next = childOf(node, p);
    if (!next) return [];
    node = next;
  }
  const shape = objectShape(node);
  return shape ? Object.keys(shape) : [];
}

function unwrap(node: z.ZodType): z.ZodType {
  let n: z.ZodType = node;
  for (let i = 0; i < 10; i++) {
    const def = (
      n as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType; out?: z.ZodType } }
    ).def;
    if (def.innerType) n = def.innerType;
    else if (def.type === 'pipe' && def.in) n = def.in;
    else break;
  }
  return n;
}

function objectShape(node: z.ZodType): Record<string, z.ZodType> | undefined {
  const n = unwrap(node);
  return n instanceof z.ZodObject ? (n.shape as Record<string, z.ZodType>) : undefined;
}

function childOf(node: z.ZodType, key: PropertyKey): z.ZodType | undefined {
  const n = unwrap(node);
  if (n instanceof z.ZodObject) return (n.shape as Record<string, z.ZodType>)[String(key)];
  if (n instanceof z.ZodRecord) return n.valueType as z.ZodType;
  if (n instanceof z.ZodArray) return n.element as z.ZodType;
  return undefined;
}
