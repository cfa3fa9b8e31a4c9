/**
 * The whole daemon at scale: `node dist/cli/main.js run` (compiled build, plain node, file state,
 * the file DNS provider) on a generated configuration with N HTTP targets, all served by one
 * node:http server in a separate process. Measures, over a window after a warm-up:
 * peak RSS (VmHWM, warm-up included), RSS in the window, CPU ms per probe (utime + stime from
 * /proc over probes run), lateness p99 (from the daemon's own switchyard_probe_lateness_seconds
 * histogram), lost probes (shed, overlaps skipped, timeouts, failures) from its counters, and the
 * time and size of a /metrics scrape.
 *
 *   npx tsx bench/daemon-scale.ts [--targets 1000] [--interval 1000] [--seconds 30] [--warmup 10]
 *                                 [--dist DIR] [--no-build] [--node-flags "--liftoff-only …"]
 *                                 [--port 25100] [--scrapes 5] [--trace-gc]
 *   npx tsx bench/daemon-scale.ts --targets 10000 --interval 5000 --seconds 30 --warmup 12
 *
 * The targets are spread over the seed layout's four regions (gateways in r1–r4, key managers in
 * r1 and r2: six components, minHealthy 1); each target has its own URL path and so its own
 * keep-alive connection, as distinct hosts would. --dist DIR runs another build (e.g. the base
 * commit compiled with `npx tsc -p tsconfig.build.json --outDir .tmp/dist-before`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { flag, mib, num, procCpuS, procMem, sleep, str } from './bench-common.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

const TARGETS = num('targets', 1000);
const INTERVAL_MS = num('interval', 1000);
const SECONDS = num('seconds', 30);
const WARMUP_S = num('warmup', 10);
const PORT = num('port', 25100);
const SCRAPES = num('scrapes', 5);
const DIST = resolve(str('dist', join(ROOT, 'dist')));
const NODE_FLAGS = str('node-flags', '').split(' ').filter(Boolean);

const SERVER = `
const http = require('node:http');
const s = http.createServer({ keepAliveTimeout: 120000 }, (req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"status":"healthy"}');
});
s.maxConnections = 200000;
s.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, () => process.stdout.write(String(s.address().port) + '\\n'));
`;

function startTarget(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', (d: Buffer) => resolve({ child, port: Number(d.toString().trim()) }));
  });
}

/** The seed's four regions, N HTTP checks spread over their six components. */
function writeConfig(dir: string, targetPort: number): string {
  const components: [string, 'gateway' | 'keyManager'][] = [
    ['r1', 'gateway'],
    ['r2', 'gateway'],
    ['r3', 'gateway'],
    ['r4', 'gateway'],
    ['r1', 'keyManager'],
    ['r2', 'keyManager'],
  ];
  const checks = components.map(() => [] as unknown[]);
  for (let i = 0; i < TARGETS; i++) {
    const c = i % components.length;
    const [region, kind] = components[c] as [string, string];
    checks[c]?.push({
      name: `${kind === 'gateway' ? 'gw' : 'km'}-${region}-${i}`,
      http: { url: `http://127.0.0.1:${targetPort}/health/${i}`, bodyMatch: 'healthy' },
    });
  }
  const comp = (c: number) => ({ minHealthy: 1, checks: checks[c] });
  // A database per main and failover region, on a port nothing listens on: its probe fails at
  // once (pg is loaded, as in production), the database stays down and nothing is promoted
  // (manual mode) — a steady state that costs what two database probes cost.
  const db = (name: string) => ({
    apim: {
      engine: 'postgres',
      host: '127.0.0.1',
      port: PORT + 2,
      database: name,
      user: 'bench',
      password: 'env:SY_BENCH_DB_PASSWORD',
      interval: '5s',
    },
  });
  const config = {
    version: 1,
    director: { id: 'bench', listen: `127.0.0.1:${PORT}` },
    admin: { listen: `127.0.0.1:${PORT + 1}`, token: 'env:SY_BENCH_TOKEN' },
    state: { store: 'file', path: join(dir, 'state.json') },
    dns: { provider: 'file', file: { path: join(dir, 'dns.json') } },
    probes: { interval: `${INTERVAL_MS}ms`, timeout: '500ms', jitter: 0.1, rise: 2, fall: 3 },
    policy: {
      failAfter: '30s',
      recoverAfter: '2m',
      staleAfter: '30s',
      promotion: { mode: 'manual' },
    },
    regions: {
      r1: { role: 'main', gateway: comp(0), keyManager: comp(4), databases: db('apim_r1') },
      r2: { role: 'failover', gateway: comp(1), keyManager: comp(5), databases: db('apim_r2') },
      r3: { role: 'edge', failover: ['r1', 'r2'], gateway: comp(2) },
      r4: { role: 'edge', failover: { split: { r1: 50, r2: 50 } }, gateway: comp(3) },
    },
    records: [
      ...['r1', 'r2', 'r3', 'r4'].map((r, i) => ({
        name: `api.${r}.example.com`,
        class: 'api',
        home: r,
        targets: {
          [r]: { values: [`192.0.2.${i + 1}`] },
          ...(r !== 'r1' ? { r1: { values: ['192.0.2.1'] } } : {}),
          ...(r !== 'r2' ? { r2: { values: ['192.0.2.2'] } } : {}),
        },
      })),
      {
        name: 'auth.r1.example.com',
        class: 'auth',
        home: 'r1',
        targets: { r1: { values: ['192.0.2.11'] }, r2: { values: ['192.0.2.12'] } },
      },
    ],
  };
  const path = join(dir, 'switchyard.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

/** Prometheus text → sample value by series (name plus labels as written). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

async function scrape(): Promise<{ text: string; ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${PORT}/metrics`);
  const text = await res.text();
  return { text, ms: performance.now() - t0, bytes: Buffer.byteLength(text) };
}

/** The lateness histogram's cumulative buckets, by upper bound. */
function lateness(m: Map<string, number>): { le: number; n: number }[] {
  const out: { le: number; n: number }[] = [];
  for (const [k, v] of m) {
    const b = /^switchyard_probe_lateness_seconds_bucket\{le="([^"]+)"\}$/.exec(k);
    if (b?.[1]) out.push({ le: b[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(b[1]), n: v });
  }
  return out.sort((a, b) => a.le - b.le);
}

/** histogram_quantile over the window's bucket deltas (linear within a bucket), in ms; and the bucket bound. */
function quantile(
  before: { le: number; n: number }[],
  after: { le: number; n: number }[],
  q: number,
): { est: number; bound: number } {
  const d = after.map((b, i) => ({ le: b.le, n: b.n - (before[i]?.n ?? 0) }));
  const total = d.at(-1)?.n ?? 0;
  const rank = q * total;
  let prevLe = 0;
  let prevN = 0;
  for (const b of d) {
    if (b.n >= rank) {
      if (!Number.isFinite(b.le)) return { est: prevLe * 1000, bound: Number.POSITIVE_INFINITY };
      const frac = b.n === prevN ? 0 : (rank - prevN) / (b.n - prevN);
      return { est: (prevLe + (b.le - prevLe) * frac) * 1000, bound: b.le * 1000 };
    }
    prevLe = b.le;
    prevN = b.n;
  }
  return { est: Number.NaN, bound: Number.NaN };
}

const sum = (m: Map<string, number>, prefix: string) => {
  let s = 0;
  for (const [k, v] of m) if (k === prefix || k.startsWith(`${prefix}{`)) s += v;
  return s;
};

async function main(): Promise<void> {
  if (!flag('no-build') && DIST === join(ROOT, 'dist')) {
    const r = spawnSync(process.execPath, [TSC, '-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error('build failed');
  }
  const cli = join(DIST, 'cli/main.js');
  if (!existsSync(cli)) throw new Error(`${cli} not found (build first)`);
  const dir = mkdtempSync(join(tmpdir(), 'bench-daemon-'));
  const target = await startTarget();
  const config = writeConfig(dir, target.port);
  const allocOut = join(dir, 'alloc.heapprofile');
  const daemon = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      ...(flag('trace-gc') ? ['--trace-gc'] : []),
      ...(flag('alloc') ? ['--import', join(ROOT, 'bench/alloc-preload.mjs')] : []),
      cli,
      'run',
      '--config',
      config,
    ],
    {
      cwd: dir,
      stdio: ['ignore', flag('trace-gc') ? 'pipe' : 'ignore', 'inherit'],
      env: {
        ...process.env,
        SY_BENCH_TOKEN: 'bench-token-0123456789abcdef',
        SY_BENCH_DB_PASSWORD: 'bench',
        NODE_OPTIONS: '',
        BENCH_ALLOC_OUT: allocOut,
      },
    },
  );
  const gcLines: string[] = [];
  daemon.stdout?.on('data', (d: Buffer) => gcLines.push(d.toString()));
  let exited = false;
  daemon.once('exit', () => {
    exited = true;
  });
  const stop = () => {
    if (!exited) daemon.kill('SIGTERM');
    target.child.kill('SIGTERM');
  };
  process.on('exit', () => {
    stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const pid = daemon.pid as number;
  const load0 = loadavg()[0] ?? 0;
  const t0 = performance.now();
  // Ready: /readyz answers 200 once every target has a result.
  let readyMs = Number.NaN;
  for (;;) {
    if (exited) throw new Error('the daemon exited during start-up');
    try {
      const r = await fetch(`http://127.0.0.1:${PORT}/readyz`);
      await r.text();
      if (r.ok) {
        readyMs = performance.now() - t0;
        break;
      }
    } catch {
      /* not listening yet */
    }
    if (performance.now() - t0 > 120_000) throw new Error('not ready within 120 s');
    await sleep(100);
  }
  await sleep(Math.max(0, WARMUP_S * 1000 - (performance.now() - t0)));
  const m0 = parseMetrics((await scrape()).text);
  if (flag('alloc')) daemon.kill('SIGUSR2');
  const cpu0 = procCpuS(pid);
  const w0 = performance.now();
  let rssMax = 0;
  let rssMin = Number.POSITIVE_INFINITY;
  const scrapes: { ms: number; bytes: number }[] = [];
  const end = w0 + SECONDS * 1000;
  const scrapeEvery = (SECONDS * 1000) / (SCRAPES + 1);
  let nextScrape = w0 + scrapeEvery;
  while (performance.now() < end) {
    const { rss } = procMem(pid);
    rssMax = Math.max(rssMax, rss);
    rssMin = Math.min(rssMin, rss);
    if (performance.now() >= nextScrape && scrapes.length < SCRAPES) {
      const s = await scrape();
      scrapes.push({ ms: s.ms, bytes: s.bytes });
      nextScrape += scrapeEvery;
    }
    await sleep(200);
  }
  const cpuS = procCpuS(pid) - cpu0;
  const windowS = (performance.now() - w0) / 1000;
  const last = await scrape();
  const m1 = parseMetrics(last.text);
  if (flag('alloc')) daemon.kill('SIGUSR2');
  const mem = procMem(pid);
  const load1 = loadavg()[0] ?? 0;
  const d = (name: string) => sum(m1, name) - sum(m0, name);
  const runs = d('switchyard_probe_runs_total');
  const expected = (TARGETS * windowS * 1000) / INTERVAL_MS;
  const l0 = lateness(m0);
  const l1 = lateness(m1);
  let failing = 0;
  for (const [k, v] of m1) if (k.startsWith('switchyard_probe_success{') && v !== 1) failing++;
  const heap = sum(m1, 'switchyard_nodejs_heap_size_used_bytes');
  const heapTotal = sum(m1, 'switchyard_nodejs_heap_size_total_bytes');
  const sorted = [...scrapes].sort((a, b) => a.ms - b.ms);
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model.trim()}, ${mib(totalmem())} MiB, Node ${process.version}`,
    load: `${load0.toFixed(1)} → ${load1.toFixed(1)}`,
    dist: DIST,
    nodeFlags: NODE_FLAGS.join(' '),
    targets: TARGETS,
    intervalMs: INTERVAL_MS,
    readyS: +(readyMs / 1000).toFixed(1),
    windowS: +windowS.toFixed(1),
    runs,
    expected: Math.round(expected),
    shed: d('switchyard_probe_shed_total'),
    overlapsSkipped: d('switchyard_probe_overlaps_skipped_total'),
    timeouts: d('switchyard_probe_timeouts_total'),
    abandoned: d('switchyard_probe_abandoned_total'),
    failingTargetsAtEnd: failing,
    errors: d('switchyard_errors_total'),
    decisions: d('switchyard_decisions_total'),
    cpuMsPerProbe: +((cpuS * 1000) / runs).toFixed(3),
    coreShare: `${((cpuS / windowS) * 100).toFixed(1)} %`,
    peakRssMiB: mib(mem.hwm),
    rssInWindowMiB: `${mib(rssMin)}–${mib(rssMax)}`,
    heapUsedMiB: mib(heap),
    heapTotalMiB: mib(heapTotal),
    latenessMs: {
      p50: quantile(l0, l1, 0.5),
      p99: quantile(l0, l1, 0.99),
      p999: quantile(l0, l1, 0.999),
    },
    scrape: {
      bytes: last.bytes,
      series: [...m1.keys()].length,
      msMedian: +(sorted[Math.floor(sorted.length / 2)]?.ms ?? Number.NaN).toFixed(1),
      msMax: +(sorted.at(-1)?.ms ?? Number.NaN).toFixed(1),
    },
    ...(flag('trace-gc') ? gcSummary(gcLines.join('')) : {}),
    ...(flag('alloc')
      ? await allocSummary(
          allocOut,
          sum(m1, 'switchyard_probe_runs_total') - sum(m0, 'switchyard_probe_runs_total'),
        )
      : {}),
  };
  stop();
  console.log(JSON.stringify(result, null, 2));
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/** --alloc: bytes allocated per probe in the window (the scrapes included), by area and top sites. */
async function allocSummary(file: string, probes: number): Promise<{ alloc: Record<string, unknown> }> {
  for (let i = 0; i < 100 && !existsSync(file); i++) await sleep(100);
  await sleep(300);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as { head: HeapNode };
  const sites = new Map<string, number>();
  const byArea = new Map<string, number>();
  let total = 0;
  const area = (url: string) => {
    const m = /\/dist\/([^/]+)\//.exec(url);
    if (m) return `switchyard ${m[1]}`;
    const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (nm) return nm[1] as string;
    return url.startsWith('node:') ? 'node core' : url === '' ? '(native / no frame)' : 'other';
  };
  const walk = (n: HeapNode, parentUrl: string) => {
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
  const per = (v: number) => Math.round(v / probes);
  return {
    alloc: {
      probes,
      bytesPerProbe: per(total),
      byArea: Object.fromEntries([...byArea].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, per(v)])),
      top: [...sites]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 25)
        .map(([site, bytes]) => `${per(bytes)} ${site}`),
    },
  };
}

/** --trace-gc: scavenges and mark-compacts seen over the whole run. */
function gcSummary(log: string): { gc: { scavenges: number; markCompacts: number } } {
  return {
    gc: {
      scavenges: (log.match(/Scavenge/g) ?? []).length,
      markCompacts: (log.match(/Mark-Compact/g) ?? []).length,
    },
  };
}

await main();
