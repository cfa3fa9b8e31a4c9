/**
 * Probe cost: switchyard's probe engine beside prometheus-blackbox-exporter, probing the same
 * local HTTP target at the same rate, in one run. For each engine: CPU-ms per probe, peak RSS,
 * scheduling lateness, lost probes; for switchyard also its heap.
 *
 *   npx tsx bench/probe-cost.ts [--targets 1000] [--interval 1000] [--seconds 15] [--warmup 5]
 *                               [--engine both|switchyard|blackbox] [--timeout 500]
 *   npx tsx bench/probe-cost.ts --growth [--interval 5000] [--sizes 250,1000,4000,10000]
 *   npx tsx bench/probe-cost.ts --alloc [--targets 500] [--interval 1000] [--seconds 10]
 *   npx tsx bench/probe-cost.ts --scrape [--sizes 250,1000,4000,10000]
 *   (any of them: --tls probes an HTTPS target, verified against its certificate;
 *    --dist DIR measures another build of src/, e.g. an older commit's;
 *    --node-flags "--liftoff-only …" runs the measured process with those flags)
 *
 * Every process is separate, so no engine pays for another's work:
 * - the target: a plain node:http server answering {"status":"healthy"} (one child process);
 * - switchyard: `ProbeScheduler` + `createHttpProbe` (GET, bodyMatch "healthy", one keep-alive
 *   connection per target), as the daemon runs them, in bench/probe-engine.mjs under plain node
 *   on the compiled dist/ (this script runs `tsc -p tsconfig.build.json` first; --no-build
 *   skips it);
 * - blackbox_exporter: /usr/bin/prometheus-blackbox-exporter with an http module (GET, 2xx,
 *   fail_if_body_not_matches_regexp "healthy"), and a driver process standing in for Prometheus
 *   that requests /probe for every target at the same interval and jitter. The driver's CPU and
 *   RSS are measured and reported on their own line ("driver"), not added to the exporter's:
 *   in production Prometheus pays that cost. "blackbox + driver" is the all-in figure.
 * CPU is read from /proc/<pid>/stat (utime + stime) at the start and end of the measured
 * window (after the warm-up), for every engine the same way; peak RSS is VmHWM (the kernel's
 * high-water mark, warm-up included) and RSS sampled every 200 ms within the window.
 *
 * --scrape times a /metrics exposition of the probe metrics (createCoreMetrics, no process
 * metrics) with N targets, by default and with metrics.probeHistograms, and counts its series.
 *
 * --alloc runs the switchyard engine alone with V8's sampling heap profiler (objects collected
 * by minor and major GCs included) and prints bytes allocated per probe and the top sites.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { createCoreMetrics } from '../src/metrics.js';
import { flag, mib, num, procCpuS, procMem, sleep, str } from './bench-common.js';

const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENGINE = join(ROOT, 'bench/probe-engine.mjs');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

interface RunSpec {
  targets: number;
  intervalMs: number;
  timeoutMs: number;
  seconds: number;
  warmupS: number;
}

// ---------------------------------------------------------------------------------------------
// Child: the target server
// ---------------------------------------------------------------------------------------------

const SERVER = `
const fs = require('node:fs');
const tls = process.env.BENCH_TLS_CERT
  ? { cert: fs.readFileSync(process.env.BENCH_TLS_CERT), key: fs.readFileSync(process.env.BENCH_TLS_KEY) }
  : undefined;
const http = require(tls ? 'node:https' : 'node:http');
const s = http.createServer({ keepAliveTimeout: 120000, ...tls }, (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"status":"healthy"}');
});
s.maxConnections = 200000;
s.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write(String(s.address().port) + '\\n'));
`;

/**
 * --tls: the target speaks HTTPS with a fresh RSA-2048 certificate for 127.0.0.1 (as a WSO2
 * keystore would); both engines verify it against that certificate as their CA.
 */
const TLS = flag('tls') ? makeCert() : undefined;
const SCHEME = TLS ? 'https' : 'http';

function makeCert(): { dir: string; cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-tls-'));
  const r = spawnSync(
    '/usr/bin/openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'key.pem',
      '-out',
      'cert.pem',
      '-days',
      '2',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { cwd: dir, stdio: 'ignore' },
  );
  if (r.status !== 0) throw new Error('openssl could not make the bench certificate');
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return { dir, cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

function startTarget(): Promise<{ child: ChildProcess; port: number }> {
  const env = TLS ? { ...process.env, BENCH_TLS_CERT: TLS.cert, BENCH_TLS_KEY: TLS.key } : process.env;
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'], env });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
  });
}

// ---------------------------------------------------------------------------------------------
// Parent: process accounting
// ---------------------------------------------------------------------------------------------

interface Watched {
  name: string;
  pid: number;
  cpu0: number;
  cpuS: number;
  rssPeakInWindow: number;
  hwm: number;
}

/** Samples the watched processes' RSS every 200 ms until `until` resolves. */
async function watch(ws: Watched[], until: Promise<unknown>): Promise<void> {
  let done = false;
  void until.then(() => {
    done = true;
  });
  while (!done) {
    for (const w of ws) w.rssPeakInWindow = Math.max(w.rssPeakInWindow, procMem(w.pid).rss);
    await Promise.race([sleep(200), until]);
  }
}

function watchedOf(name: string, pid: number): Watched {
  return { name, pid, cpu0: procCpuS(pid), cpuS: 0, rssPeakInWindow: 0, hwm: 0 };
}

/**
 * Spawns the measured process (bench/probe-engine.mjs under plain node, on the dist/ build);
 * returns its 'start' event and its final event ('end' or 'alloc').
 */
function spawnEngine(extra: string[]): {
  child: ChildProcess;
  started: Promise<void>;
  ended: Promise<Record<string, unknown>>;
} {
  // --node-flags "…" runs the measured process with V8/Node flags (e.g. heap or wasm tiering).
  const nodeFlags = str('node-flags', '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeFlags, ENGINE, ...extra], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  let onStart: () => void = () => undefined;
  let onEnd: (v: Record<string, unknown>) => void = () => undefined;
  const started = new Promise<void>((r) => {
    onStart = r;
  });
  const ended = new Promise<Record<string, unknown>>((resolve, reject) => {
    onEnd = resolve;
    child.once('exit', (code) => reject(new Error(`engine process exited with ${code}`)));
  });
  rl.on('line', (line) => {
    const m = JSON.parse(line) as Record<string, unknown>;
    if (m.event === 'start') onStart();
    else onEnd(m);
  });
  return { child, started, ended };
}

function specArgs(s: RunSpec): string[] {
  const dist = str('dist', '');
  return [
    ...(dist ? ['--dist', dist] : []),
    '--targets',
    String(s.targets),
    '--interval',
    String(s.intervalMs),
    '--timeout',
    String(s.timeoutMs),
    '--seconds',
    String(s.seconds),
    '--warmup',
    String(s.warmupS),
  ];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function waitHttp(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`${url} did not come up`);
    await sleep(100);
  }
}

interface EngineReport {
  engine: string;
  targets: number;
  intervalMs: number;
  probes: number;
  expected: number;
  failures: number;
  lost: number;
  cpuMsPerProbe: number;
  coreShare: number;
  rssPeakMiB: number;
  rssPeakInWindowMiB: number;
  detail: Record<string, unknown>;
}

function report(
  engine: string,
  spec: RunSpec,
  end: Record<string, unknown>,
  w: Watched,
  cpuS = w.cpuS,
): EngineReport {
  const probes = Number(end.probes);
  const wallS = Number(end.wallS);
  const expected = Math.round((spec.targets * wallS * 1_000) / spec.intervalMs);
  const counters = (end.counters ?? {}) as Record<string, number>;
  const lost = (counters.shed ?? 0) + (counters.skippedOverlaps ?? 0);
  return {
    engine,
    targets: spec.targets,
    intervalMs: spec.intervalMs,
    probes,
    expected,
    failures: Number(end.failures),
    lost,
    cpuMsPerProbe: +((cpuS * 1_000) / probes).toFixed(3),
    coreShare: +(cpuS / wallS).toFixed(3),
    rssPeakMiB: mib(w.hwm),
    rssPeakInWindowMiB: mib(w.rssPeakInWindow),
    detail: end,
  };
}

async function runSwitchyard(spec: RunSpec, port: number): Promise<EngineReport> {
  const c = spawnEngine([
    ...specArgs(spec),
    ...(TLS ? ['--tls-ca', TLS.cert] : []),
    '--url-template',
    `${SCHEME}://127.0.0.1:${port}/health?t={i}`,
  ]);
  await c.started;
  const w = watchedOf('switchyard', c.child.pid as number);
  const w0 = w.cpu0;
  void watch([w], c.ended);
  const end = await c.ended;
  w.cpuS = procCpuS(w.pid) - w0;
  w.hwm = procMem(w.pid).hwm;
  c.child.kill('SIGKILL');
  return report('switchyard', spec, end, w);
}

async function runBlackbox(spec: RunSpec, port: number): Promise<EngineReport[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-blackbox-'));
  const cfg = join(dir, 'blackbox.yml');
  writeFileSync(
    cfg,
    [
      'modules:',
      '  http_healthy:',
      '    prober: http',
      `    timeout: ${spec.timeoutMs}ms`,
      '    http:',
      '      method: GET',
      '      valid_status_codes: [200]',
      '      fail_if_body_not_matches_regexp: ["healthy"]',
      ...(TLS ? ['      tls_config:', `        ca_file: ${TLS.cert}`] : []),
      '',
    ].join('\n'),
  );
  const bbPort = await freePort();
  const bb = spawn(
    BLACKBOX,
    [`--config.file=${cfg}`, `--web.listen-address=127.0.0.1:${bbPort}`, '--log.level=error'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  try {
    await waitHttp(`http://127.0.0.1:${bbPort}/-/healthy`, 10_000);
    // The driver's timeout covers the exporter's own (bounded by the module's timeout).
    const target = encodeURIComponent(`${SCHEME}://127.0.0.1:${port}/health?t=`);
    const c = spawnEngine([
      ...specArgs({ ...spec, timeoutMs: Math.min(spec.intervalMs - 100, spec.timeoutMs + 400) }),
      '--url-template',
      `http://127.0.0.1:${bbPort}/probe?module=http_healthy&target=${target}{i}`,
      '--body-match',
      'probe_success 1',
    ]);
    await c.started;
    const wb = watchedOf('blackbox', bb.pid as number);
    const wd = watchedOf('driver', c.child.pid as number);
    void watch([wb, wd], c.ended);
    const end = await c.ended;
    for (const w of [wb, wd]) {
      w.cpuS = procCpuS(w.pid) - w.cpu0;
      w.hwm = procMem(w.pid).hwm;
    }
    c.child.kill('SIGKILL');
    const exporter = report('blackbox_exporter', spec, end, wb);
    const driver = report('driver (Prometheus stand-in)', spec, end, wd);
    const both = report('blackbox + driver', spec, end, wb, wb.cpuS + wd.cpuS);
    both.rssPeakMiB = +(exporter.rssPeakMiB + driver.rssPeakMiB).toFixed(1);
    both.rssPeakInWindowMiB = +(exporter.rssPeakInWindowMiB + driver.rssPeakInWindowMiB).toFixed(1);
    return [exporter, driver, both];
  } finally {
    bb.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(rows: EngineReport[]): string {
  const head =
    '| engine | targets | interval | probes (expected) | failures | lost | CPU ms/probe | share of a core | peak RSS (VmHWM) | RSS in window | lateness p50 / p99 / max |';
  const sep = `|${head
    .split('|')
    .slice(1, -1)
    .map(() => '---')
    .join('|')}|`;
  const lines = rows.map((r) => {
    const l = r.detail.lateness as { p50: number; p99: number; max: number } | undefined;
    const late = l ? `${l.p50.toFixed(1)} / ${l.p99.toFixed(1)} / ${l.max.toFixed(1)} ms` : '';
    return `| ${r.engine} | ${r.targets} | ${r.intervalMs} ms | ${r.probes} (${r.expected}) | ${r.failures} | ${r.lost} | ${r.cpuMsPerProbe} | ${(r.coreShare * 100).toFixed(1)} % | ${r.rssPeakMiB} MiB | ${r.rssPeakInWindowMiB} MiB | ${late} |`;
  });
  return [head, sep, ...lines].join('\n');
}

function machine(): Record<string, unknown> {
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model,
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    load1: +(loadavg()[0] ?? 0).toFixed(2),
  };
}

async function comparison(): Promise<void> {
  const spec: RunSpec = {
    targets: num('targets', 1_000),
    intervalMs: num('interval', 1_000),
    timeoutMs: num('timeout', 500),
    seconds: num('seconds', 15),
    warmupS: num('warmup', 5),
  };
  const engine = str('engine', 'both');
  const load0 = machine();
  const { child, port } = await startTarget();
  const rows: EngineReport[] = [];
  try {
    if (engine === 'both' || engine === 'switchyard') rows.push(await runSwitchyard(spec, port));
    if (engine === 'both' || engine === 'blackbox') rows.push(...(await runBlackbox(spec, port)));
  } finally {
    child.kill('SIGKILL');
  }
  console.log(JSON.stringify({ spec, machine: load0, loadEnd: machine().load1, rows }, null, 2));
  console.log(`\n${table(rows)}`);
}

async function growth(): Promise<void> {
  const sizes = str('sizes', '250,1000,4000,10000').split(',').map(Number);
  const intervalMs = num('interval', 5_000);
  const rows: EngineReport[] = [];
  const load0 = machine();
  const { child, port } = await startTarget();
  try {
    for (const n of sizes) {
      const spec: RunSpec = {
        targets: n,
        intervalMs,
        timeoutMs: num('timeout', 500),
        seconds: num('seconds', 15),
        warmupS: num('warmup', Math.max(6, Math.ceil(intervalMs / 1_000) + 1)),
      };
      const r = await runSwitchyard(spec, port);
      rows.push(r);
      console.error(`growth: ${n} targets done (${r.cpuMsPerProbe} CPU ms/probe, ${r.rssPeakMiB} MiB)`);
    }
  } finally {
    child.kill('SIGKILL');
  }
  const out = rows.map((r) => ({
    targets: r.targets,
    probesPerS: +(r.probes / Number(r.detail.wallS)).toFixed(1),
    lost: r.lost,
    failures: r.failures,
    cpuMsPerProbe: r.cpuMsPerProbe,
    rssPeakMiB: r.rssPeakMiB,
    heapUsedMiB: r.detail.heapUsedMiB,
    lateness: r.detail.lateness,
  }));
  console.log(JSON.stringify({ intervalMs, machine: load0, loadEnd: machine().load1, rows: out }, null, 2));
  console.log(`\n${table(rows)}`);
}

async function alloc(): Promise<void> {
  const spec: RunSpec = {
    targets: num('targets', 500),
    intervalMs: num('interval', 1_000),
    timeoutMs: num('timeout', 500),
    seconds: num('seconds', 10),
    warmupS: num('warmup', 5),
  };
  const { child, port } = await startTarget();
  try {
    const c = spawnEngine([
      '--role',
      'alloc',
      ...specArgs(spec),
      ...(TLS ? ['--tls-ca', TLS.cert] : []),
      '--url-template',
      `${SCHEME}://127.0.0.1:${port}/health?t={i}`,
    ]);
    const out = await c.ended;
    c.child.kill('SIGKILL');
    console.log(JSON.stringify({ spec, machine: machine(), ...out }, null, 2));
  } finally {
    child.kill('SIGKILL');
  }
}

async function scrape(): Promise<void> {
  const sizes = str('sizes', '250,1000,4000,10000').split(',').map(Number);
  const rows: Record<string, unknown>[] = [];
  for (const n of sizes)
    for (const perTarget of [false, true]) {
      const targets = Array.from({ length: n }, (_, i) => ({
        id: `r${i % 4}.gateway.gw-${i}`,
        region: `r${i % 4}`,
        component: 'gateway',
      }));
      const registry = new Registry();
      const m = createCoreMetrics(
        registry,
        { targets },
        { defaultMetrics: false, probeHistograms: perTarget },
      );
      for (const t of targets) m.observeProbe(t.id, { ok: true, latencyMs: 12 });
      const times: number[] = [];
      const cpu: number[] = [];
      let text = '';
      for (let k = 0; k < 7; k++) {
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        text = await registry.metrics();
        const c = process.cpuUsage(c0);
        times.push(performance.now() - t0);
        cpu.push((c.user + c.system) / 1000);
      }
      times.sort((a, b) => a - b);
      cpu.sort((a, b) => a - b);
      const probeSeries = text
        .split('\n')
        .filter(
          (l) => l.startsWith('switchyard_probe_success') || l.startsWith('switchyard_probe_duration'),
        ).length;
      rows.push({
        targets: n,
        probeHistograms: perTarget,
        probeSeries,
        seriesPerTarget: +(probeSeries / n).toFixed(2),
        bytes: text.length,
        scrapeMsMedian: +(times[3] as number).toFixed(1),
        // CPU time is what the scrape costs; wall time adds whatever else wants the CPU meanwhile.
        scrapeCpuMsMedian: +(cpu[3] as number).toFixed(1),
      });
    }
  console.log(JSON.stringify({ machine: machine(), rows }, null, 2));
}

/** The engine processes run the compiled code: build it first (tsc, ~10 s) unless --no-build. */
function build(): void {
  if (flag('no-build') || str('dist', '')) return;
  const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('npm run build failed');
}

async function main(): Promise<void> {
  if (!flag('scrape')) build();
  if (flag('scrape')) return scrape();
  if (flag('alloc')) return alloc();
  if (flag('growth')) return growth();
  return comparison();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
