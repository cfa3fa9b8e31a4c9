import { MUTANTS } from '../sim/mutants.js';
import { formatCatalogue, formatReport } from '../sim/report.js';
import { checkDeterminism, runSimulation, type SimReport } from '../sim/run.js';
import { SCENARIOS } from '../sim/scenarios.js';
import { systemClock } from '../util/clock.js';
import { parseDuration } from '../util/duration.js';
import { systemRandom } from '../util/random.js';
import { EXIT, type ExitCode } from './exit-codes.js';

export interface SimCommandOptions {
  seed?: string;
  duration?: string;
  instances?: string;
  scenario?: string;
  intensity?: string;
  trace?: boolean;
  json?: boolean;
  checkDeterminism?: boolean;
  list?: boolean;
  skipKnownBugs?: boolean;
  /** Safety mechanisms to take out (src/sim/mutants.ts). */
  mutant?: string[];
}

export interface Streams {
  out: { write(s: string): unknown };
  err: { write(s: string): unknown };
}

/**
 * `switchyard sim --seed S --duration 1d --instances N [--scenario name] [--trace]`: runs the
 * deterministic simulation and exits 0 when every invariant held, 1 with the seed, the invariant
 * and the last events when one broke (or two runs of the seed differed), 2 on a usage error.
 */
export async function runSimCommand(opts: SimCommandOptions, io: Streams): Promise<ExitCode> {
  if (opts.list) {
    io.out.write(formatCatalogue());
    return EXIT.OK;
  }
  const usage = (msg: string): ExitCode => {
    io.err.write(`switchyard sim: ${msg}\n`);
    return EXIT.USAGE;
  };
  const seed = opts.seed === undefined ? Math.floor(systemRandom() * 2 ** 32) : Number(opts.seed);
  if (!Number.isSafeInteger(seed) || seed < 0)
    return usage(`--seed must be a non-negative integer, not "${opts.seed}"`);
  const durationMs = opts.duration === undefined ? undefined : parseDuration(opts.duration);
  if (opts.duration !== undefined && (durationMs === undefined || durationMs <= 0))
    return usage(`--duration must be a duration such as 90s, 30m, 6h or 1d, not "${opts.duration}"`);
  const scenario = opts.scenario ?? 'random';
  const sc = SCENARIOS.find((s) => s.name === scenario);
  if (!sc) return usage(`unknown scenario "${scenario}" (known: ${SCENARIOS.map((s) => s.name).join(', ')})`);
  // Default: what the scenario says (3 for the multi-instance ones), else one.
  const instances = Number(opts.instances ?? String(sc.layout?.instances ?? 1));
  if (!Number.isInteger(instances) || instances < 1 || instances > 5) return usage('--instances must be 1–5');
  if (sc.minInstances !== undefined && instances < sc.minInstances)
    return usage(
      `scenario "${scenario}" needs at least ${sc.minInstances} instances (several observers on etcd)`,
    );
  const intensity = Number(opts.intensity ?? '1');
  if (!(intensity >= 0)) return usage('--intensity must be a number ≥ 0');
  const mutants = opts.mutant ?? [];
  const unknown = mutants.filter((m) => !MUTANTS.some((x) => x.name === m));
  if (unknown.length > 0)
    return usage(`unknown mutant "${unknown[0]}" (known: ${MUTANTS.map((m) => m.name).join(', ')})`);

  const run = {
    seed,
    scenario,
    instances,
    intensity,
    skipKnownBugs: opts.skipKnownBugs === true,
    ...(mutants.length > 0 ? { mutants } : {}),
    ...(durationMs !== undefined ? { durationMs } : {}),
  };
  if (opts.checkDeterminism) {
    const d = await checkDeterminism(run);
    io.out.write(
      `seed ${seed} (${scenario}): ${d.hashes[0]} / ${d.hashes[1]} — ${d.same ? 'identical' : 'DIFFERENT'}\n`,
    );
    if (!d.same) io.out.write(`VIOLATED determinism (seed ${seed}): two runs of the seed differ\n`);
    return d.same ? EXIT.OK : EXIT.INVALID;
  }
  const t0 = systemClock.monotonic();
  const report: SimReport = await runSimulation({
    ...run,
    ...(opts.trace ? { onTrace: (line: string) => io.out.write(`${line}\n`) } : {}),
  });
  const wallMs = systemClock.monotonic() - t0;
  io.out.write(
    opts.json
      ? `${JSON.stringify({ ...report, wallMs: Math.round(wallMs) }, null, 2)}\n`
      : formatReport(report, wallMs),
  );
  return report.ok ? EXIT.OK : EXIT.INVALID;
}
