/**
 * A sweep of the simulator over many seeds: how many runs held every invariant, how many stopped
 * at a known, unfixed bug (src/sim/known-bugs.ts) and at which, and which failed (a new bug, or a
 * simulator bug): each failure is printed with its seed and the command that replays it.
 *
 *   npx tsx bench/sim-sweep.ts [--from 1] [--count 40] [--hours 24] [--scenario random|swarm] [--intensity 1]
 *                              [--instances 1]   (1–5; several run on the etcd twin with the round-2 faults)
 */
import { replayCommand } from '../src/sim/report.js';
import { runSimulation } from '../src/sim/run.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

const from = Number(arg('from', '1'));
const count = Number(arg('count', '40'));
const hours = Number(arg('hours', '24'));
const scenario = arg('scenario', 'random');
const intensity = Number(arg('intensity', '1'));
const instances = Number(arg('instances', '1'));

const known: Record<string, number> = {};
const failures: string[] = [];
let full = 0;
let virtualMs = 0;
let checks = 0;
let events = 0;
const t0 = performance.now();
for (let seed = from; seed < from + count; seed++) {
  const r = await runSimulation({
    seed,
    scenario,
    instances,
    durationMs: hours * 3_600_000,
    intensity,
    skipKnownBugs: true,
  });
  virtualMs += r.reachedMs;
  checks += r.checks;
  events += r.events;
  const hit = r.knownHits[0]?.invariant;
  if (!r.ok)
    failures.push(
      `seed ${seed}: ${r.violation?.invariant}: ${r.violation?.message}\n    ${replayCommand(r)}`,
    );
  else if (hit) known[hit] = (known[hit] ?? 0) + 1;
  else full++;
  console.log(
    `seed ${seed}: ${r.ok ? (hit ? `stopped at known bug ${hit}` : 'every invariant held') : `FAILED ${r.violation?.invariant}`} after ${(r.reachedMs / 3_600_000).toFixed(1)} h`,
  );
}
const wall = (performance.now() - t0) / 1000;
console.log(
  `\n${count} seeds (${scenario}, ${instances} instance(s), intensity ${intensity}, up to ${hours} h): ${full} held every invariant for the whole run; known bugs: ${JSON.stringify(known)}; failures: ${failures.length}`,
);
console.log(
  `${(virtualMs / 3_600_000).toFixed(0)} virtual hours, ${events.toLocaleString('en-US')} events, ${checks.toLocaleString('en-US')} invariant checks, in ${wall.toFixed(0)} s`,
);
for (const f of failures) console.log(`  ${f}`);
