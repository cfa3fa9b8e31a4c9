/**
 * Probe cost: N HTTP targets on a local server at a fixed interval — CPU seconds per 1,000
 * probes, resident memory (peak and end) and scheduling lateness (p50/p99).
 *
 *   npx tsx bench/probe-cost.ts [--targets 1000] [--seconds 60] [--interval 1000] [--warmup 5]
 *
 * The server runs in a child process so its CPU is not counted. Each target has its own
 * keep-alive connection (one undici Client per probe), as in the daemon.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { cpus, loadavg } from 'node:os';
import { createHttpProbe } from '../src/probe/http.js';
import { ProbeScheduler } from '../src/probe/scheduler.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}

const targets = arg('targets', 1_000);
const seconds = arg('seconds', 60);
const intervalMs = arg('interval', 1_000);
const warmupS = arg('warmup', 5);

const SERVER = `
const http = require('node:http');
const s = http.createServer({ keepAliveTimeout: 120000 }, (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"status":"healthy"}');
});
s.maxConnections = 100000;
s.listen(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));
`;

function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const { child, port } = await startServer();
  let results = 0;
  let failures = 0;
  const errors = new Map<string, number>();
  const scheduler = new ProbeScheduler({
    onResult: (_id, r) => {
      results++;
      if (!r.ok) {
        failures++;
        errors.set(r.error ?? '?', (errors.get(r.error ?? '?') ?? 0) + 1);
      }
    },
  });
  const timeoutMs = Math.min(2_000, Math.floor(intervalMs / 2));
  for (let i = 0; i < targets; i++)
    scheduler.add({
      id: `bench.gateway.t${i}`,
      probe: createHttpProbe(
        {
          url: `http://127.0.0.1:${port}/health?t=${i}`,
          method: 'GET',
          headers: {},
          expectStatus: [200],
          bodyMatch: 'healthy',
        },
        { timeoutMs, maxBodyBytes: 5_120 },
      ),
      intervalMs,
      timeoutMs,
      jitter: 0.1,
    });

  const load0 = loadavg()[0] ?? 0;
  scheduler.start();
  await sleep(warmupS * 1_000); // connections opened, JIT warm: measure the steady state
  scheduler.resetLateness();
  const results0 = results;
  const failures0 = failures;
  const cpu0 = process.cpuUsage();
  let peakRss = process.memoryUsage().rss;
  const t0 = performance.now();
  for (let s = 0; s < seconds; s++) {
    await sleep(1_000);
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const wall = (performance.now() - t0) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  const probes = results - results0;
  const lat = scheduler.latenessStats();
  const endRss = process.memoryUsage().rss;
  await scheduler.close();
  child.kill('SIGTERM');

  const cpuS = (cpu.user + cpu.system) / 1e6;
  const mib = (b: number) => (b / 1_048_576).toFixed(1);
  const report = {
    targets,
    intervalMs,
    measuredSeconds: +wall.toFixed(1),
    probes,
    probesPerSecond: +(probes / wall).toFixed(1),
    failures: failures - failures0,
    errors: Object.fromEntries(errors),
    cpuSeconds: +cpuS.toFixed(2),
    cpuSecondsPer1000Probes: +((cpuS / probes) * 1_000).toFixed(3),
    cpuShareOfOneCore: +(cpuS / wall).toFixed(3),
    rssPeakMiB: +mib(peakRss),
    rssEndMiB: +mib(endRss),
    heapUsedEndMiB: +mib(process.memoryUsage().heapUsed),
    latenessMs: {
      p50: +lat.p50.toFixed(2),
      p99: +lat.p99.toFixed(2),
      max: +lat.max.toFixed(2),
      samples: lat.count,
    },
    skippedOverlaps: scheduler.counters.skippedOverlaps,
    machine: { nproc: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    // Other work on the machine skews lateness: the 1-minute load average before and after.
    loadAverage: { start: +load0.toFixed(2), end: +(loadavg()[0] ?? 0).toFixed(2) },
  };
  console.log(JSON.stringify(report, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
