import { readFileSync } from 'node:fs';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { SwitchyardError } from '../util/errors.js';
import { crossCheck, type Finding } from './crosscheck.js';
import { formatZodIssues } from './issues.js';
import { type Config, configSchema } from './schema.js';

export interface LoadedConfig {
  config: Config;
  warnings: Finding[];
  source: string;
}

/** Parses YAML text into a plain value, turning syntax errors into path-less lines with a position. */
export function parseYaml(
  text: string,
  source: string,
  code: 'CONFIG_UNREADABLE' | 'SCENARIO_INVALID',
): unknown {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    const lines = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return `${source}:${pos.line}:${pos.col}: ${e.message.split('\n')[0]}`;
    });
    throw new SwitchyardError(code, `${source} is not valid YAML`, lines);
  }
  if (doc.contents !== null && !isMap(doc.contents))
    throw new SwitchyardError(code, `${source} must be a YAML mapping at the top level`, [
      '(top level): expected a mapping of keys to values',
    ]);
  return doc.toJS({ maxAliasCount: 100 }) ?? {};
}

/** Validates an already parsed document (from YAML or elsewhere). Throws CONFIG_INVALID with every problem. */
export function parseConfig(raw: unknown, source = 'config'): LoadedConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = formatZodIssues(result.error, (path) => knownKeys(path));
    throw new SwitchyardError('CONFIG_INVALID', `${source}: ${plural(lines.length, 'error')}`, lines);
  }
  const { errors, warnings } = crossCheck(result.data);
  if (errors.length > 0) {
    const lines = errors.map((e) => `${e.path}: ${e.message}`);
    throw new SwitchyardError('CONFIG_INVALID', `${source}: ${plural(lines.length, 'error')}`, lines);
  }
  return { config: result.data, warnings, source };
}

export function loadConfigText(text: string, source: string): LoadedConfig {
  return parseConfig(parseYaml(text, source, 'CONFIG_UNREADABLE'), source);
}

export function loadConfig(path: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SwitchyardError(
      'CONFIG_UNREADABLE',
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
      [],
      {
        cause: e,
      },
    );
  }
  return loadConfigText(text, path);
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
