/**
 * The measured process of bench/probe-cost.ts. Plain JavaScript run by plain `node`, importing
 * the compiled engine from dist/ (what the daemon runs): a TypeScript loader in this process
 * would add ~45 MiB of RSS that is not the engine's. The parent builds dist/ first.
 *
 *   node bench/probe-engine.mjs --role engine|alloc --targets N --interval MS --timeout MS
 *        --seconds S --warmup S --url-template URL --body-match TEXT [--tls-ca PEM] [--dist DIR]
 *
 * `--url-template` contains `{i}`, replaced by the target's index. Prints JSON lines: {event:
 * 'start'} when the measured window opens, then {event: 'end' | 'alloc', ...} with the figures.
 */
import { Session } from 'node:inspector/promises';
import { resolve } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { getHeapStatistics } from 'node:v8';

function opt(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}
const num = (name, dflt) => Number(opt(name, dflt));
const role = opt('role', 'engine');
const targets = num('targets', 1000);
const intervalMs = num('interval', 1000);
const timeoutMs = num('timeout', 500);
const seconds = num('seconds', 15);
const warmupS = num('warmup', 5);
const template = opt('url-template', '');
const bodyMatch = opt('body-match', 'healthy');
const tlsCa = opt('tls-ca', '');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (b) => +(b / 1_048_576).toFixed(1);
const emit = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
// --dist DIR measures another build (e.g. of an older commit, for before/after figures).
const dist = pathToFileURL(`${resolve(opt('dist', new URL('../dist', import.meta.url).pathname))}/`);
const { createHttpProbe } = await import(new URL('probe/http.js', dist).href);
const { ProbeScheduler } = await import(new URL('probe/scheduler.js', dist).href);

let results = 0;
let failures = 0;
const errors = {};
const scheduler = new ProbeScheduler({
  onResult: (_id, r) => {
    results++;
    if (!r.ok) {
      failures++;
      const k = r.error ?? '?';
      errors[k] = (errors[k] ?? 0) + 1;
    }
  },
});
for (let i = 0; i < targets; i++)
  scheduler.add({
    id: `bench.gateway.t${i}`,
    probe: createHttpProbe(
      {
        url: template.replace('{i}', String(i)),
        method: 'GET',
        headers: {},
        expectStatus: [200],
        bodyMatch,
        ...(tlsCa && template.startsWith('https:') ? { tls: { ca: tlsCa, insecureSkipVerify: false } } : {}),
      },
      { timeoutMs, maxBodyBytes: 5_120 },
    ),
    intervalMs,
    timeoutMs,
    jitter: 0.1,
  });

const counters = () => ({ ...scheduler.counters });

async function engine() {
  scheduler.start();
  await sleep(warmupS * 1_000); // connections opened, JIT warm: measure the steady state
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  scheduler.resetLateness();
  const c0 = counters();
  const r0 = results;
  const f0 = failures;
  for (const k of Object.keys(errors)) delete errors[k];
  const cpu0 = process.cpuUsage();
  let heapPeak = 0;
  emit({ event: 'start' });
  const t0 = performance.now();
  const end = t0 + seconds * 1_000;
  while (performance.now() < end) {
    await sleep(200);
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }
  const wallS = (performance.now() - t0) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  const c1 = counters();
  const delta = {};
  for (const [k, v] of Object.entries(c1)) if (typeof v === 'number') delta[k] = v - (c0[k] ?? 0);
  const mem = process.memoryUsage();
  emit({
    event: 'end',
    wallS,
    probes: results - r0,
    failures: failures - f0,
    errors,
    selfCpuS: (cpu.user + cpu.system) / 1e6,
    counters: delta,
    lateness: scheduler.latenessStats(),
    eventLoopDelayMs: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
    heapUsedMiB: mib(mem.heapUsed),
    heapPeakMiB: mib(heapPeak),
    heapTotalMiB: mib(mem.heapTotal),
    externalMiB: mib(mem.external),
    heapLimitMiB: mib(getHeapStatistics().heap_size_limit),
  });
}

/** Bytes allocated per probe (V8 sampling heap profiler, collected objects included), top sites. */
async function alloc() {
  scheduler.start();
  await sleep(warmupS * 1_000);
  const gcs = {};
  const kinds = { 1: 'minor', 2: 'major', 4: 'incremental', 8: 'weakcb' };
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const k = kinds[e.detail?.kind] ?? 'other';
      gcs[k] = (gcs[k] ?? 0) + 1;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 256,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const r0 = results;
  emit({ event: 'start' });
  await sleep(seconds * 1_000);
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const probes = results - r0;
  obs.disconnect();
  const sites = new Map();
  const byArea = new Map();
  let total = 0;
  const area = (url) =>
    url.includes('/dist/probe/')
      ? 'switchyard probe (dist/probe)'
      : url.includes('/undici/')
        ? 'undici'
        : url.startsWith('node:')
          ? 'node core'
          : url === ''
            ? '(native / no frame)'
            : 'other';
  const walk = (n, parentUrl) => {
    const url = n.callFrame.url || parentUrl;
    if (n.selfSize > 0) {
      total += n.selfSize;
      const short = n.callFrame.url.replace(/^.*\/(node_modules|dist)\//, '$1/');
      const key = `${n.callFrame.functionName || '(anonymous)'} ${short}:${n.callFrame.lineNumber + 1}`;
      sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
      byArea.set(area(url), (byArea.get(area(url)) ?? 0) + n.selfSize);
    }
    for (const c of n.children) walk(c, url);
  };
  walk(profile.head, '');
  const perProbe = (v) => Math.round(v / probes);
  emit({
    event: 'alloc',
    probes,
    bytesPerProbe: perProbe(total),
    gcPer1000Probes: Object.fromEntries(
      Object.entries(gcs).map(([k, v]) => [k, +((v * 1_000) / probes).toFixed(2)]),
    ),
    byArea: Object.fromEntries(
      [...byArea.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, perProbe(v)]),
    ),
    top: [...sites.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([site, bytes]) => ({ site, bytesPerProbe: perProbe(bytes) })),
  });
}

(role === 'alloc' ? alloc() : engine())
  .then(async () => {
    await scheduler.close();
    process.exit(0);
  })
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
