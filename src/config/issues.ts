import type { z } from 'zod';

/** Renders a path the way an operator reads it: `regions.r3.failover[1]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** One line per problem, each naming its path; unknown keys get a "did you mean" when close. */
export function formatZodIssues(
  error: z.ZodError,
  known: (path: readonly PropertyKey[]) => string[] = () => [],
): string[] {
  const lines: string[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const p = formatPath([...issue.path, key]);
        const guess = closest(key, known(issue.path));
        lines.push(`${p}: unknown key${guess ? ` (did you mean "${guess}"?)` : ''}`);
      }
      continue;
    }
    if (issue.code === 'invalid_union' && 'errors' in issue && Array.isArray(issue.errors)) {
      lines.push(`${formatPath(issue.path)}: ${issue.message}`);
      continue;
    }
    lines.push(`${formatPath(issue.path)}: ${describe(issue)}`);
  }
  return [...new Set(lines)];
}

/** Needs issues parsed with `reportInput: true`, so that a missing value can be told from a wrong one. */
function describe(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues.length > 0)
    return `invalid key: ${issue.issues.map((i) => i.message).join('; ')}`;
  if (issue.code === 'invalid_type')
    return issue.input === undefined
      ? `required (${issue.expected})`
      : issue.message.replace(/^Invalid input: /, '');
  if (issue.code === 'invalid_value' && 'values' in issue)
    return `${issue.message.replace(/^Invalid option: /, '')}`.replace(/^expected one of/, 'expected one of');
  return issue.message;
}

/** The candidate closest to `word` (edit distance), if close enough to be a likely typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = levenshtein(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function levenshtein(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j] as number;
      row[j] = Math.min(
        (row[j] as number) + 1,
        (row[j - 1] as number) + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = cur;
    }
  }
  return row[b.length] as number;
}
