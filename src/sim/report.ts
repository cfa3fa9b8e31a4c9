import { formatDuration } from '../util/duration.js';
import { FAULT_KINDS } from './faults.js';
import { allInvariants } from './invariants/index.js';
import { MUTANTS } from './mutants.js';
import type { SimReport } from './run.js';
import { SCENARIOS } from './scenarios.js';
import { formatLine, formatVirtual } from './trace.js';

const n = (x: number) => x.toLocaleString('en-US');

/** A duration `--duration` parses back exactly: the largest whole unit ("1d", "90m", "1500ms"). */
export function durationArg(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The command that replays a run exactly. */
export function replayCommand(
  r: Pick<SimReport, 'seed' | 'scenario' | 'durationMs' | 'instances' | 'intensity'> & {
    mutants?: readonly string[];
  },
): string {
  const intensity = r.intensity === 1 ? '' : ` --intensity ${r.intensity}`;
  const mutants = (r.mutants ?? []).map((m) => ` --mutant ${m}`).join('');
  return `switchyard sim --seed ${r.seed} --scenario ${r.scenario} --duration ${durationArg(r.durationMs)} --instances ${r.instances}${intensity}${mutants} --trace`;
}

/** A compact human report of one run; a failing run ends with its seed, the invariant and the last events. */
export function formatReport(r: SimReport, wallMs?: number): string {
  const lines: string[] = [];
  const speed =
    wallMs && wallMs > 0
      ? ` in ${(wallMs / 1000).toFixed(1)}s (${n(Math.round(r.reachedMs / wallMs))}× real time)`
      : '';
  lines.push(
    `switchyard sim: seed ${r.seed}, scenario ${r.scenario}, ${r.instances} instance${r.instances === 1 ? '' : 's'}, ${formatDuration(r.durationMs)} virtual${speed}`,
  );
  lines.push(
    `  events ${n(r.events)} · invariant checks ${n(r.checks)} · trace ${n(r.traceLines)} lines · hash ${r.traceHash}`,
  );
  const kinds = Object.entries(r.faults)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(`  faults ${Object.values(r.faults).reduce((a, b) => a + b, 0)}${kinds ? ` (${kinds})` : ''}`);
  const s = r.stats;
  lines.push(
    `  decisions ${n(s.decisions)} · moves ${s.moves} · DNS changes ${s.dnsChanges} (API calls ${n(s.dnsCalls)}, throttled ${s.dnsThrottled}) · promotions planned ${s.wouldPromote}, done ${s.promotions} · fences ${s.fences} · failed saves ${s.saveFailures}`,
  );
  lines.push(`  application writes accepted ${n(s.writesAccepted)}, refused ${n(s.writesRefused)}`);
  if (r.mutants.length > 0)
    lines.push(`  mutants: ${r.mutants.join(', ')} (a safety mechanism taken out: an invariant must break)`);
  for (const h of r.knownHits)
    lines.push(
      `  stopped at a known bug at ${formatVirtual(h.at)} (src/sim/known-bugs.ts): ${h.invariant}: ${h.message}`,
    );
  if (r.ok) {
    lines.push(
      r.knownHits.length > 0
        ? `ok but for a known bug: every other invariant held until then (${r.invariants.length} checked after every event)`
        : `ok: every invariant held (${r.invariants.length} checked after every event)`,
    );
    return `${lines.join('\n')}\n`;
  }
  const v = r.violation;
  if (v) {
    lines.push(`VIOLATED ${v.invariant} at ${formatVirtual(v.at)} (seed ${r.seed})`);
    lines.push(`  ${v.message}`);
    lines.push(`  replay: ${replayCommand(r)}`);
    lines.push('  last events:');
    for (const l of v.tail.slice(-30)) lines.push(`    ${formatLine(l)}`);
  }
  return `${lines.join('\n')}\n`;
}

/** What `switchyard sim --list` prints. */
export function formatCatalogue(): string {
  const lines = ['scenarios:'];
  for (const s of SCENARIOS)
    lines.push(
      `  ${s.name.padEnd(28)} ${s.minInstances ? `[${s.layout?.instances ?? s.minInstances} instances] ` : ''}${s.description}`,
    );
  lines.push('fault kinds:');
  for (const k of FAULT_KINDS)
    lines.push(`  ${k.name.padEnd(28)} ${k.etcd ? '[several instances] ' : ''}${k.description}`);
  lines.push('invariants:');
  for (const i of allInvariants()) lines.push(`  ${i.name.padEnd(28)} ${i.description}`);
  lines.push('mutants (--mutant; each must break its invariant):');
  for (const m of MUTANTS)
    lines.push(
      `  ${m.name.padEnd(28)} ${m.description} → ${m.catches} (--scenario ${m.scenario} --seed ${m.seed})`,
    );
  return `${lines.join('\n')}\n`;
}
