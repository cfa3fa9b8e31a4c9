import { cli } from './cli.js';

/** What `switchyard <command> --help` says a command accepts: long flag → takes a value? */
export interface FlagSpec {
  takesValue: boolean;
  short?: string;
}

const cache = new Map<string, Map<string, FlagSpec>>();

/** The flags of a subcommand, read from the real CLI's help (not a copy of the option list). */
export function commandFlags(command: string): Map<string, FlagSpec> {
  const known = cache.get(command);
  if (known) return known;
  const r = cli([command, '--help']);
  if (r.code !== 0) throw new Error(`switchyard ${command} --help exited ${r.code}: ${r.stderr}`);
  const flags = new Map<string, FlagSpec>();
  for (const line of r.stdout.split('\n')) {
    const m = /^\s+(?:-([A-Za-z]), )?--([a-z][a-z0-9-]*)(?: [<[]([^>\]]+)[>\]])?/.exec(line);
    if (m?.[2]) flags.set(m[2], { takesValue: m[3] !== undefined, ...(m[1] ? { short: m[1] } : {}) });
  }
  if (flags.size === 0) throw new Error(`no options found in the help of ${command}:\n${r.stdout}`);
  cache.set(command, flags);
  return flags;
}

export interface ParsedArgs {
  command: string | undefined;
  /** Long flag name → its value (true for a switch). */
  values: Map<string, string | true>;
  problems: string[];
}

/**
 * Checks an argument vector (`[run, --config, /etc/…, --listen, 0.0.0.0:9464]`) against a
 * command's flags: every flag is known, every value-taking flag has a value, no stray words.
 */
export function parseArgs(args: readonly string[], flags: Map<string, FlagSpec>): ParsedArgs {
  const [command, ...rest] = args;
  const values = new Map<string, string | true>();
  const problems: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] ?? '';
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq > 0 ? a.slice(eq + 1) : undefined;
    } else if (/^-[A-Za-z]$/.test(a)) {
      name = [...flags].find(([, s]) => s.short === a.slice(1))?.[0];
      if (!name) {
        problems.push(`unknown option ${a}`);
        continue;
      }
    } else {
      problems.push(`unexpected argument "${a}"`);
      continue;
    }
    const spec = flags.get(name);
    if (!spec) {
      problems.push(`unknown option --${name}`);
      continue;
    }
    if (!spec.takesValue) {
      if (inline !== undefined) problems.push(`--${name} takes no value`);
      values.set(name, true);
      continue;
    }
    const value = inline ?? rest[++i];
    if (value === undefined || value.startsWith('-')) problems.push(`--${name} needs a value`);
    else values.set(name, value);
  }
  return { command, values, problems };
}
