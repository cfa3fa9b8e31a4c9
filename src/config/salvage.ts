import { z } from 'zod';
import { closest, formatPath } from './issues.js';

/**
 * When a document fails the schema, the cross-checks still run on what did parse, so that one
 * `validate` names every mistake (issue: five mistakes reported as four errors). `salvage`
 * keeps every part that passes its own schema, as the schema would have parsed it, and drops the
 * parts that fail (a failed field with a default takes the default; a failed array element
 * becomes a hole, so indices stay those of the file). `gapsOf` lists the failed paths, which the
 * cross-checks consult before reading anything.
 */

const MISSING = Symbol('missing');

export function salvage(schema: z.ZodType, input: unknown): unknown {
  const v = walk(schema, input);
  return v === MISSING ? undefined : v;
}

function walk(schema: z.ZodType, input: unknown): unknown {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject && isPlainObject(input)) {
    // Object-level refinements are skipped: the full parse has reported them, and the gap names the object.
    const out: Record<string, unknown> = {};
    for (const [key, sub] of Object.entries(inner.shape as Record<string, z.ZodType>)) {
      const v = walk(sub, input[key]);
      if (v !== MISSING && v !== undefined) out[key] = v;
    }
    return out;
  }
  if (inner instanceof z.ZodRecord && isPlainObject(input)) {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(input)) {
      if (!(inner.keyType as z.ZodType).safeParse(key).success) continue;
      const v = walk(inner.valueType as z.ZodType, value);
      if (v !== MISSING) out[key] = v;
    }
    return out;
  }
  if (inner instanceof z.ZodArray && Array.isArray(input)) {
    return input.map((e) => {
      const v = walk(inner.element as z.ZodType, e);
      return v === MISSING ? undefined : v;
    });
  }
  const fallback = schema.safeParse(undefined);
  return fallback.success ? fallback.data : MISSING;
}

/**
 * The paths the schema rejected. A misspelt key also marks the key it was probably meant to be
 * ("gatway" → `gateway`), unless that key is present too: the intended value is unknown.
 */
export function gapsOf(
  error: z.ZodError,
  raw: unknown,
  known: (path: readonly PropertyKey[]) => string[],
): string[] {
  const out: string[] = [];
  for (const issue of error.issues) {
    if (issue.code !== 'unrecognized_keys') {
      out.push(formatPath(issue.path));
      continue;
    }
    const at = valueAt(raw, issue.path);
    for (const key of issue.keys) {
      const guess = closest(key, known(issue.path));
      if (guess !== undefined && !(isPlainObject(at) && guess in at))
        out.push(formatPath([...issue.path, guess]));
    }
  }
  return out;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let n = schema;
  for (let i = 0; i < 10; i++) {
    const def = (n as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
    const wrapper = ['optional', 'default', 'prefault', 'nullable', 'readonly'].includes(def.type);
    if (!wrapper || !def.innerType) break;
    n = def.innerType;
  }
  return n;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
