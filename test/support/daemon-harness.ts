import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { DaemonOptions } from '../../src/daemon/daemon.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { Promoter } from '../../src/database/types.js';
import { MemoryDnsProvider } from '../../src/dns/memory.js';
import type { HealthTarget } from '../../src/health/targets.js';
import type { DatabaseProbeResult, Probe, ProbeResult } from '../../src/probe/types.js';
import type { CronFactory } from '../../src/schedule/cron.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import type { PersistedState, StateStore } from '../../src/state/types.js';
import { FakeClock } from '../../src/util/clock.js';

/**
 * The real daemon in one process on a FakeClock: scripted probes (each target answers what the
 * test says, at once), recording promoters, memory DNS and memory state. Time moves only through
 * `advance`, so hold-downs and clock steps are exact and the test takes milliseconds.
 */

export type Answer =
  | { ok: true; role?: 'primary' | 'replica'; writable?: boolean; lagSeconds?: number; streaming?: boolean }
  | { ok: false };

export const UP: Answer = { ok: true };
export const DOWN: Answer = { ok: false };

/** The four-region layout with one database per core region, on short timings. */
export function harnessConfig(overrides: Record<string, unknown> = {}): Config {
  const http = (name: string) => ({ checks: [{ name, http: { url: `http://127.0.0.1:9/${name}` } }] });
  const db = (host: string) => ({ engine: 'postgres', host, database: 'apim', user: 'sy' });
  const ip = (n: number) => ({ values: [`192.0.2.${n}`] });
  return parseConfig(
    {
      director: { id: 'harness', listen: '127.0.0.1:0' },
      state: { store: 'file', path: '/nonexistent/unused.json' },
      dns: { provider: 'memory', reconcile: '0 0 1 1 *' },
      probes: { interval: '1s', timeout: '500ms', jitter: 0, rise: 2, fall: 2 },
      policy: {
        failAfter: '3s',
        recoverAfter: '10s',
        staleAfter: '5s',
        promotion: { mode: 'automatic', promoteAfter: '5s', maxLagSeconds: 10, maxLagBytes: '16MiB' },
      },
      regions: {
        r1: { role: 'main', gateway: http('gw1'), keyManager: http('km1'), databases: { apim: db('db1') } },
        r2: {
          role: 'failover',
          gateway: http('gw2'),
          keyManager: http('km2'),
          databases: { apim: db('db2') },
        },
        r3: { role: 'edge', failover: ['r1', 'r2'], gateway: http('gw3') },
        r4: { role: 'edge', failover: { split: { r1: 50, r2: 50 } }, gateway: http('gw4') },
      },
      records: [
        { name: 'api.r1.example.com', class: 'api', home: 'r1', targets: { r1: ip(1), r2: ip(2) } },
        { name: 'api.r2.example.com', class: 'api', home: 'r2', targets: { r2: ip(2), r1: ip(1) } },
        {
          name: 'api.r3.example.com',
          class: 'api',
          home: 'r3',
          targets: { r3: ip(3), r1: ip(1), r2: ip(2) },
        },
        {
          name: 'api.r4.example.com',
          class: 'api',
          home: 'r4',
          targets: { r4: ip(4), r1: ip(1), r2: ip(2) },
        },
        { name: 'auth.r1.example.com', class: 'auth', home: 'r1', targets: { r1: ip(11), r2: ip(12) } },
        { name: 'auth.r3.example.com', class: 'auth', home: 'r3', targets: { r1: ip(11), r2: ip(12) } },
        { name: 'manage.example.com', class: 'management', targets: { r1: ip(21), r2: ip(22) } },
      ],
      ...overrides,
    },
    'harness',
  ).config;
}

/** A promoter that records every call and changes a scripted database's answers like a real one. */
export class ScriptedDatabase {
  calls: string[] = [];
  reachable = true;
  constructor(
    public role: 'primary' | 'replica',
    public writable: boolean,
  ) {}

  answer(): Answer {
    if (!this.reachable) return DOWN;
    return {
      ok: true,
      role: this.role,
      writable: this.writable,
      lagSeconds: 0,
      streaming: this.role === 'replica',
    };
  }

  promoter(label: string): Promoter {
    const fail = (code: 'FENCE_FAILED' | 'PROMOTION_FAILED') => ({
      code,
      reason: 'refused' as const,
      message: 'unreachable (scripted)',
    });
    return {
      engine: 'postgres',
      label,
      status: async () => ({ engine: 'postgres', reachable: this.reachable, detail: 'scripted' }),
      fence: async () => {
        this.calls.push('fence');
        if (!this.reachable)
          return {
            ok: false,
            sqlFenced: false,
            sessionsTerminated: 0,
            durationMs: 0,
            error: fail('FENCE_FAILED'),
          };
        this.writable = false;
        return { ok: true, sqlFenced: true, sessionsTerminated: 0, durationMs: 0, position: '0/1' };
      },
      promote: async () => {
        this.calls.push('promote');
        if (!this.reachable)
          return {
            ok: false,
            alreadyPrimary: false,
            verified: false,
            durationMs: 0,
            error: fail('PROMOTION_FAILED'),
          };
        this.role = 'primary';
        this.writable = true;
        return { ok: true, alreadyPrimary: false, verified: true, durationMs: 0 };
      },
      catchUp: async () => ({ ok: true, waitedMs: 0, position: '0/1' }),
      unfence: async () => ({ ok: true, durationMs: 0 }),
    };
  }
}

/** A cron factory that never fires: the harness drives time, and cron jobs are not under test. */
const noCron: CronFactory = () => ({ stop: () => undefined });

export interface Harness {
  daemon: Daemon;
  clock: FakeClock;
  dns: MemoryDnsProvider;
  store: StateStore & { peek?: () => PersistedState | null };
  /** What each target answers now; defaults to UP, and databases answer from `db`. */
  answers: Map<string, Answer>;
  db: Record<string, ScriptedDatabase>;
  /** Probe runs per target id, in order, with the monotonic time they started. */
  runs: Array<{ id: string; at: number }>;
  advance(ms: number): Promise<void>;
  weights(name: string): Record<string, number>;
  stop(): Promise<void>;
}

export async function startHarness(
  opts: {
    config?: Config;
    state?: PersistedState | null;
    store?: StateStore;
    dns?: MemoryDnsProvider;
    start?: boolean;
    daemon?: Partial<DaemonOptions>;
  } = {},
): Promise<Harness> {
  const config = opts.config ?? harnessConfig();
  const clock = new FakeClock(Date.UTC(2026, 5, 1));
  const dns = opts.dns ?? new MemoryDnsProvider();
  const store = opts.store ?? new MemoryStateStore(opts.state ?? null);
  const answers = new Map<string, Answer>();
  const db: Record<string, ScriptedDatabase> = {
    r1: new ScriptedDatabase('primary', true),
    r2: new ScriptedDatabase('replica', false),
  };
  const runs: Harness['runs'] = [];
  const probe = (t: HealthTarget): Probe<ProbeResult | DatabaseProbeResult> => ({
    async run() {
      const at = clock.monotonic();
      runs.push({ id: t.id, at });
      const a = t.database
        ? (answers.get(t.id) ?? db[t.region]?.answer() ?? DOWN)
        : (answers.get(t.id) ?? UP);
      if (!a.ok) return { ok: false, at, latencyMs: 1, error: 'refused', detail: 'refused (scripted)' };
      if (!t.database) return { ok: true, at, latencyMs: 1, status: 200, detail: '200 (scripted)' };
      return {
        ok: true,
        at,
        latencyMs: 1,
        detail: `${a.role ?? 'primary'} (scripted)`,
        engine: 'postgres',
        ...(a.role ? { role: a.role } : {}),
        ...(a.writable !== undefined ? { writable: a.writable } : {}),
        lagSeconds: a.role === 'replica' ? (a.lagSeconds ?? 0) : null,
        lagBytes: a.role === 'replica' ? 0 : null,
        ...(a.streaming !== undefined ? { streaming: a.streaming } : {}),
      };
    },
    async close() {},
  });
  const daemon = new Daemon({
    config,
    logger: pino({ level: 'silent' }),
    clock,
    random: () => 0.5,
    stateStore: store,
    dnsProvider: dns,
    probe,
    promoter: (region) => (db[region] as ScriptedDatabase).promoter(`${region}/apim`),
    cron: noCron,
    listen: '127.0.0.1:0',
    shutdownGraceMs: 1_000,
    ...opts.daemon,
  });
  if (opts.start !== false) {
    await daemon.start();
    await clock.advanceAsync(0);
  }
  const weights = (name: string) => {
    const out: Record<string, number> = {};
    for (const s of dns.snapshot()) if (s.name === name) out[s.region] = s.weight;
    return out;
  };
  return {
    daemon,
    clock,
    dns,
    store: store as Harness['store'],
    answers,
    db,
    runs,
    advance: async (ms: number) => {
      // Small steps: each probe result and decision settles before the next timer fires.
      for (let t = 0; t < ms; t += 100) await clock.advanceAsync(Math.min(100, ms - t));
    },
    weights,
    stop: () => daemon.stop(),
  };
}
