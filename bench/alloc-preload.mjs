/**
 * Preloaded into a measured process (`node --import ./bench/alloc-preload.mjs …`) by
 * bench/daemon-scale.ts --alloc: the first SIGUSR2 starts V8's sampling heap profiler (objects
 * collected by minor and major GCs included, so it counts every allocation, not what survives);
 * the second stops it and writes the profile to $BENCH_ALLOC_OUT.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const out = process.env.BENCH_ALLOC_OUT;
const session = new Session();
session.connect();
let sampling = false;
process.on('SIGUSR2', () => {
  void (async () => {
    if (!sampling) {
      sampling = true;
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 256,
        includeObjectsCollectedByMajorGC: true,
        includeObjectsCollectedByMinorGC: true,
      });
      return;
    }
    const { profile } = await session.post('HeapProfiler.stopSampling');
    if (out) writeFileSync(out, JSON.stringify(profile));
  })();
});
