/**
 * Detection: how long after a gateway fails does switchyard react?
 *
 * - `health` part (probe → health): the real HTTP probe, scheduler and HealthTracker; the gateway
 *   is a local server that starts answering 503; time until the component's `down` change.
 * - `dns` part (gateway fails → the DNS provider receives the new weights): the whole daemon
 *   in-process (`Daemon` from src/daemon/daemon.ts: probes, health, decide, act, reconciler) with
 *   three regions whose gateways are local HTTP servers; the edge region's gateway stops
 *   (connection refused) and the clock runs until the provider is handed api.r3's new weights:
 *   the memory provider's `apply()` call, or, with `--provider route53`, the arrival of the
 *   ChangeResourceRecordSets request at the local Route 53 emulator (real AWS SDK, default pacing
 *   and retries). The health `down` event is timed too, to split the total into its two halves.
 *
 * Each round fails the gateway at a random phase of the probe cycle. The floor is
 * `fall × interval + failAfter`; the first failing probe comes within one interval of the failure,
 * so detection lies between `(fall − 1) × interval` and `fall × interval` (+ jitter), plus
 * failAfter, plus up to one decision tick (1 s) when failAfter > 0 (the engine re-evaluates
 * hold-downs on its tick; a health change itself triggers a decision at once).
 *
 *   npx tsx bench/detection.ts [--part health|dns|all] [--interval 1000] [--fall 3] [--rounds 5]
 *                              [--fail-after 0s|30s|default] [--provider memory|route53]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseConfig } from '../src/config/load.js';
import { Daemon } from '../src/daemon/daemon.js';
import type { ProbeFactory } from '../src/daemon/ports.js';
import { realProbeFactory } from '../src/daemon/probes.js';
import { MemoryDnsProvider } from '../src/dns/memory.js';
import type { ApplyResult, DnsProvider, WeightedSet } from '../src/dns/types.js';
import type { HealthTarget } from '../src/health/targets.js';
import { HealthTracker } from '../src/health/tracker.js';
import { createHttpProbe } from '../src/probe/http.js';
import { ProbeScheduler } from '../src/probe/scheduler.js';
import type { DatabaseProbeResult } from '../src/probe/types.js';
import { buildTopology } from '../src/topology/build.js';
import { Route53Emulator } from '../test/support/route53-emulator.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
function option<T extends string>(name: string, allowed: readonly T[], dflt: T): T {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : dflt;
  if (!allowed.includes(v as T)) throw new Error(`--${name} must be one of ${allowed.join(', ')}`);
  return v as T;
}
function text(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}
const intervalMs = arg('interval', 1_000);
const fall = arg('fall', 3);
const rounds = arg('rounds', 5);
const part = option('part', ['health', 'dns', 'all'] as const, 'all');
const providerKind = option('provider', ['memory', 'route53'] as const, 'memory');
const failAfterArg = text('fail-after', '0s');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(check: () => boolean, timeoutMs: number, what: string, everyMs = 2): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

function stats(xs: number[]): { median: number; worst: number; best: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length / 2;
  const median =
    s.length % 2 ? (s[Math.floor(mid)] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
  return { median: Math.round(median), worst: Math.round(s[s.length - 1] ?? 0), best: Math.round(s[0] ?? 0) };
}

// ---------------------------------------------------------------------------------------------
// Part 1: probe → health (a gateway that starts answering 503).

async function healthRound(): Promise<{ detectMs: number; recoverMs: number }> {
  let failing = false;
  const server = createServer((_req, res) => {
    res.statusCode = failing ? 503 : 200;
    res.end(failing ? 'down' : 'ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const check = {
    url: `http://127.0.0.1:${port}/health`,
    method: 'GET' as const,
    headers: {},
    expectStatus: [200],
  };
  const target: HealthTarget = {
    id: 'r1.gateway.health',
    region: 'r1',
    component: 'gateway',
    name: 'health',
    componentId: 'r1.gateway',
    intervalMs,
    timeoutMs: Math.floor(intervalMs / 2),
    jitter: 0.1,
    rise: 2,
    fall,
    minHealthy: 1,
    maxBodyBytes: 5_120,
  };
  let downAt = 0;
  let upAt = 0;
  const health = new HealthTracker([target], {
    onChange: (c) => {
      if (c.kind !== 'component') return;
      if (c.to === 'down') downAt = performance.now();
      if (c.to === 'up') upAt = performance.now();
    },
  });
  const scheduler = new ProbeScheduler({ onResult: (id, r) => health.record(id, r) });
  scheduler.add({
    id: target.id,
    probe: createHttpProbe(check, { timeoutMs: target.timeoutMs, maxBodyBytes: 5_120 }),
    intervalMs,
    timeoutMs: target.timeoutMs,
    jitter: 0.1,
  });
  scheduler.start();
  while (health.view().r1?.gateway?.status !== 'up') await sleep(20);
  await sleep(Math.random() * intervalMs); // fail at a random phase of the probe cycle
  failing = true;
  const failedAt = performance.now();
  while (downAt === 0) await sleep(5);
  failing = false;
  const recoveredAt = performance.now();
  upAt = 0;
  while (upAt === 0) await sleep(5);
  await scheduler.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return { detectMs: downAt - failedAt, recoverMs: upAt - recoveredAt };
}

async function healthPart(): Promise<Record<string, unknown>> {
  const out: { detectMs: number; recoverMs: number }[] = [];
  for (let i = 0; i < rounds; i++) out.push(await healthRound());
  const d = stats(out.map((r) => r.detectMs));
  return {
    part: 'health (probe → component down)',
    intervalMs,
    fall,
    rise: 2,
    floorMs: fall * intervalMs,
    detectMs: out.map((r) => Math.round(r.detectMs)),
    medianMs: d.median,
    worstMs: d.worst,
    recoverMs: out.map((r) => Math.round(r.recoverMs)),
  };
}

// ---------------------------------------------------------------------------------------------
// Part 2: gateway fails → the DNS provider receives the new weights (the daemon in-process).

/** A gateway: a real HTTP server that can be stopped (connection refused). */
class Gateway {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;
  async start(): Promise<void> {
    const server = createServer((_req, res) => res.end('{"status":"ok"}'));
    server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    for (const sock of this.sockets) sock.destroy();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }
}

const API_R3 = 'api.r3.example.com/A';

/** The memory provider, noting when it is handed a write that moves api.r3 away from r3. */
class TimedProvider extends MemoryDnsProvider implements DnsProvider {
  movedAt = 0;
  override async apply(sets: readonly WeightedSet[]): Promise<ApplyResult> {
    if (sets.some((s) => s.recordKey === API_R3 && s.region === 'r3' && s.weight === 0))
      this.movedAt ||= performance.now();
    return super.apply(sets);
  }
}

/** Databases are not what this measures: a stand-in probe reports r1's primary and r2's replica healthy. */
const db = { apim: { engine: 'postgres', host: '127.0.0.1', database: 'apim', user: 'bench' } };
const probe: ProbeFactory = (target, clock) =>
  target.database
    ? {
        async run(): Promise<DatabaseProbeResult> {
          const primary = target.region === 'r1';
          return {
            ok: true,
            at: clock.monotonic(),
            latencyMs: 1,
            detail: primary ? 'primary, writable' : 'replica, streaming',
            engine: 'postgres',
            role: primary ? 'primary' : 'replica',
            writable: primary,
            lagSeconds: 0,
            lagBytes: 0,
            ...(primary ? {} : { streaming: true }),
          };
        },
        async close() {},
      }
    : realProbeFactory(target, clock);

function rawConfig(dir: string, gw: Record<string, Gateway>, dns: Record<string, unknown>) {
  const check = (g: Gateway) => ({
    checks: [{ name: 'health', http: { url: `http://127.0.0.1:${g.port}/health` } }],
  });
  return {
    director: { id: 'bench' },
    state: { store: 'file', path: join(dir, 'state.json') },
    dns: { reconcile: '0 0 1 1 *', ...dns },
    probes: {
      interval: `${intervalMs}ms`,
      timeout: `${Math.floor(intervalMs / 2)}ms`,
      jitter: 0.1,
      rise: 2,
      fall,
    },
    policy: failAfterArg === 'default' ? {} : { failAfter: failAfterArg },
    regions: {
      r1: {
        role: 'main',
        gateway: check(gw.r1 as Gateway),
        keyManager: check(gw.km1 as Gateway),
        databases: db,
      },
      r2: {
        role: 'failover',
        gateway: check(gw.r2 as Gateway),
        keyManager: check(gw.km2 as Gateway),
        databases: db,
      },
      r3: { role: 'edge', failover: ['r1', 'r2'], gateway: check(gw.r3 as Gateway) },
    },
    records: ['r1', 'r2', 'r3'].map((r) => ({
      name: `api.${r}.example.com`,
      class: 'api',
      home: r,
      targets: Object.fromEntries(['r1', 'r2', 'r3'].map((t, j) => [t, { values: [`192.0.2.${j + 1}`] }])),
    })),
  };
}

/** Live sets of every configured record at home weights (what a healthy engine wants). */
function homeSets(records: ReturnType<typeof buildTopology>['records']): WeightedSet[] {
  return records.flatMap((r) =>
    Object.entries(r.targets).map(([region, t]) => ({
      recordKey: r.key,
      name: r.name,
      type: r.type,
      region,
      setIdentifier: t.setIdentifier,
      weight: region === r.home ? 100 : 0,
      ttlSeconds: r.ttlSeconds,
      ...(t.values ? { values: [...t.values] } : {}),
    })),
  );
}

interface DnsRound {
  failAfterMs: number;
  /** Gateway stopped → health `down` event. */
  healthMs: number;
  /** Gateway stopped → the provider receives api.r3's new weights. */
  dnsMs: number;
}

async function dnsRound(): Promise<DnsRound> {
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-detect-'));
  const gw = {
    r1: new Gateway(),
    r2: new Gateway(),
    r3: new Gateway(),
    km1: new Gateway(),
    km2: new Gateway(),
  };
  await Promise.all(Object.values(gw).map((g) => g.start()));
  let emu: Route53Emulator | undefined;
  let dnsProvider: TimedProvider | undefined;
  let movedAt = 0;
  let dns: Record<string, unknown> = { provider: 'memory' };
  if (providerKind === 'route53') {
    emu = new Route53Emulator({ insyncDelayMs: 100 });
    const endpoint = await emu.start();
    process.env.AWS_ACCESS_KEY_ID = 'AKIDBENCH';
    process.env.AWS_SECRET_ACCESS_KEY = 'bench-secret';
    // Production defaults for pacing (5 requests/s), retries and GetChange polling (2 s).
    dns = { provider: 'route53', route53: { hostedZoneId: emu.zoneId, endpoint } };
    emu.onBatch = (b) => {
      if (
        b.changes.some(
          (c) => c.set.name === 'api.r3.example.com.' && c.set.setIdentifier === 'r3' && c.set.weight === 0,
        )
      )
        movedAt ||= performance.now();
    };
  }
  const { config } = parseConfig(rawConfig(dir, gw, dns), 'bench');
  const sets = homeSets(buildTopology(config).records);
  if (emu)
    emu.seed(
      sets.map((s) => ({
        name: s.name,
        type: s.type,
        setIdentifier: s.setIdentifier,
        weight: s.weight,
        ttl: s.ttlSeconds,
        values: s.values ?? [],
      })),
    );
  else dnsProvider = new TimedProvider(sets);

  let downAt = 0;
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        if (downAt === 0 && line.includes('"event":"health"') && line.includes('"to":"down"')) {
          const e = JSON.parse(line) as { kind?: string; id?: string };
          if (e.kind === 'component' && e.id === 'r3.gateway') downAt = performance.now();
        }
      },
    },
  );
  const daemon = new Daemon({
    config,
    logger,
    listen: '127.0.0.1:0',
    probe,
    ...(dnsProvider ? { dnsProvider } : {}),
  });
  await daemon.start();
  try {
    await waitUntil(
      () => daemon.status().regions.every((r) => r.components.every((c) => c.status === 'up')),
      30_000,
      'all up',
      20,
    );
    await sleep(intervalMs + Math.random() * intervalMs); // settle, then fail at a random phase
    await gw.r3.stop();
    const failedAt = performance.now();
    const moved = () => (dnsProvider ? dnsProvider.movedAt : movedAt);
    await waitUntil(() => moved() > 0, fall * intervalMs + config.policy.failAfter + 30_000, 'DNS move');
    return { failAfterMs: config.policy.failAfter, healthMs: downAt - failedAt, dnsMs: moved() - failedAt };
  } finally {
    await daemon.stop('bench');
    await Promise.all(Object.values(gw).map((g) => g.stop()));
    await emu?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function dnsPart(): Promise<Record<string, unknown>> {
  const out: DnsRound[] = [];
  for (let i = 0; i < rounds; i++) {
    const r = await dnsRound();
    out.push(r);
    process.stderr.write(
      `round ${i + 1}/${rounds}: health ${Math.round(r.healthMs)} ms, dns ${Math.round(r.dnsMs)} ms\n`,
    );
  }
  const failAfterMs = out[0]?.failAfterMs ?? 0;
  const total = stats(out.map((r) => r.dnsMs));
  const h = stats(out.map((r) => r.healthMs));
  const after = stats(out.map((r) => r.dnsMs - r.healthMs));
  return {
    part: `dns (gateway stops → ${providerKind === 'route53' ? 'ChangeResourceRecordSets arrives at the emulator' : 'memory provider apply()'})`,
    provider: providerKind,
    intervalMs,
    fall,
    failAfterMs,
    floorMs: fall * intervalMs + failAfterMs,
    dnsMs: out.map((r) => Math.round(r.dnsMs)),
    medianMs: total.median,
    worstMs: total.worst,
    healthDownMs: out.map((r) => Math.round(r.healthMs)),
    healthMedianMs: h.median,
    downToDnsMs: out.map((r) => Math.round(r.dnsMs - r.healthMs)),
    downToDnsMedianMs: after.median,
    downToDnsWorstMs: after.worst,
  };
}

const results: Record<string, unknown>[] = [];
if (part === 'health' || part === 'all') results.push(await healthPart());
if (part === 'dns' || part === 'all') results.push(await dnsPart());
console.log(JSON.stringify({ node: process.version, results }, null, 2));
