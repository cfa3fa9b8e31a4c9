/** Prints the trace hash of one run (the cross-process determinism check spawns it). */
import { runSimulation } from '../../src/sim/run.js';

const [seed, scenario, durationMs] = process.argv.slice(2);
const r = await runSimulation({
  seed: Number(seed),
  scenario: scenario as string,
  durationMs: Number(durationMs),
  skipKnownBugs: true,
});
process.stdout.write(`${r.traceHash} ${r.events}\n`);
