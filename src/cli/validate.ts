import type { Command } from 'commander';
import { checkConfig, parseConfigYaml, readConfigFile } from '../config/load.js';
import { buildTopology } from '../topology/build.js';
import { isSwitchyardError } from '../util/errors.js';
import { EXIT } from './exit-codes.js';

/** Where the command writes; process.stdout/stderr in the CLI, strings in tests. */
export interface ValidateIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface ValidateOptions {
  quiet?: boolean;
}

/**
 * `switchyard validate <config>` as a function: reads, parses and checks the file, prints a
 * one-line summary (stdout) and the warnings (stderr), or every error with its path (stderr).
 * Returns the exit code: 0 valid, 1 invalid or unreadable. Usage errors (2) are commander's.
 */
export function runValidate(path: string, opts: ValidateOptions, io: ValidateIo): number {
  let raw: unknown;
  try {
    raw = parseConfigYaml(readConfigFile(path), path);
  } catch (e) {
    if (!isSwitchyardError(e)) throw e;
    io.stderr(`${e.code}: ${e.message}\n`);
    for (const line of e.details) io.stderr(`  ${line}\n`);
    return EXIT.INVALID;
  }
  const { config, errors, warnings } = checkConfig(raw);
  const warningLines = warnings.map((w) => `warning: ${w.path}: ${w.message}\n`);
  if (!config || errors.length > 0) {
    io.stderr(`CONFIG_INVALID: ${path}: ${errors.length} error${errors.length === 1 ? '' : 's'}\n`);
    for (const line of errors) io.stderr(`  ${line}\n`);
    for (const w of warningLines) io.stderr(w);
    return EXIT.INVALID;
  }
  const t = buildTopology(config);
  for (const w of warningLines) io.stderr(w);
  if (!opts.quiet) {
    const roles = t.regions.map((r) => `${r.id}(${r.role})`).join(' ');
    const checks = Object.values(config.regions).reduce(
      (n, r) =>
        n +
        (r.gateway?.checks.length ?? 0) +
        (r.keyManager?.checks.length ?? 0) +
        Object.keys(r.databases ?? {}).length,
      0,
    );
    io.stdout(
      `${path}: valid — ${t.regions.length} regions ${roles}, ${checks} probe targets, ${t.records.length} records, dns ${config.dns.provider}, promotion ${config.policy.promotion.mode}${warnings.length ? `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}` : ''}\n`,
    );
  }
  return EXIT.OK;
}

/** Registers `validate`: exit 0 with a one-line summary, or 1 with every error and its path. */
export function register(program: Command): void {
  program
    .command('validate')
    .description('check a configuration file; prints every error with its path')
    .argument('<config>', 'path to the YAML configuration')
    .option('--quiet', 'print nothing on success')
    .action((path: string, opts: ValidateOptions) => {
      process.exitCode = runValidate(path, opts, {
        stdout: (s) => process.stdout.write(s),
        stderr: (s) => process.stderr.write(s),
      });
    });
}
