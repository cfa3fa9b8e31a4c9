import { RE2JS } from 're2js';

/**
 * `bodyRegex` runs on RE2 (re2js, a pure-JavaScript port): matching is linear in the body,
 * which is itself cut at maxBodyBytes, so no pattern can stall the event loop. A JavaScript
 * RegExp backtracks: `^(a+)+$` against 40 × "a" then "!" takes 2^40 steps and froze the daemon.
 * RE2 has no backreferences and no lookaround; the configuration refuses those patterns with
 * the reason (see `bodyRegexProblem`), so what validates is exactly what runs.
 */
export type BodyRegex = RE2JS;

/** Compiles once; throws RE2's syntax error for a pattern RE2 does not accept. */
export function compileBodyRegex(pattern: string): BodyRegex {
  return RE2JS.compile(pattern);
}

/** Why RE2 refuses `pattern`, for the configuration error; undefined when it compiles. */
export function bodyRegexProblem(pattern: string): string | undefined {
  try {
    compileBodyRegex(pattern);
    return undefined;
  } catch (e) {
    const message = e instanceof Error ? e.message.replace(/^error parsing regexp: /, '') : String(e);
    return (
      `not a pattern RE2 accepts (${message}); bodyRegex is matched with RE2 in linear time, ` +
      'which has no backreferences (\\1) and no lookahead or lookbehind ((?=…), (?!…), (?<=…), (?<!…))'
    );
  }
}
