/**
 * Runs one HTTP probe in its own process and reports how long it took and how late a 10 ms
 * interval timer ran meanwhile: a probe that blocks the event loop (a backtracking regex) cannot
 * be timed from inside the blocked process, and would hang the test runner with it.
 *
 *   node --import tsx test/support/probe-in-child.ts '<json: { check, timeoutMs, maxBodyBytes }>'
 *
 * Prints one JSON line: { result, elapsedMs, maxTimerGapMs, ticks }.
 */
import type { HttpCheckConfig } from '../../src/config/schema.js';
import { createHttpProbe } from '../../src/probe/http.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  check: HttpCheckConfig;
  timeoutMs: number;
  maxBodyBytes: number;
};
const probe = createHttpProbe(spec.check, { timeoutMs: spec.timeoutMs, maxBodyBytes: spec.maxBodyBytes });
let last = performance.now();
let maxGap = 0;
let ticks = 0;
const timer = setInterval(() => {
  const now = performance.now();
  maxGap = Math.max(maxGap, now - last);
  last = now;
  ticks++;
}, 10);
// Let the timer settle before the probe starts.
await new Promise((resolve) => setTimeout(resolve, 50));
const t0 = performance.now();
const result = await probe.run();
const elapsedMs = performance.now() - t0;
// One more tick after the result, so a block at the very end is seen too.
await new Promise((resolve) => setTimeout(resolve, 30));
clearInterval(timer);
await probe.close();
process.stdout.write(`${JSON.stringify({ result, elapsedMs, maxTimerGapMs: maxGap, ticks })}\n`);
process.exit(0);
