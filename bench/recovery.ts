/**
 * Recovery time of a lost main region: `kill -9` of the PostgreSQL primary and r1's gateway and
 * key manager → the first successful application write on the promoted standby AND management
 * moved to r2 in the file DNS document. The daemon runs as a child process of the real CLI
 * (`switchyard run`), with a fresh PostgreSQL pair per run, local fake HTTP endpoints for the
 * seed's four regions, and automatic promotion.
 *
 *   npx tsx bench/recovery.ts [--runs 5] [--profile default|aggressive|both|patroni-default|patroni-aggressive]
 *
 * Profiles:
 *   default     probes every 5s (timeout 2s, fall 3), failAfter 30s, promoteAfter 1m: the
 *               configuration defaults (with promotion.mode automatic; the default is manual).
 *   aggressive  probes every 1s (timeout 800ms, fall 2), failAfter 1s, promoteAfter 5s.
 *   patroni-*   Patroni 3 beside it (bench/patroni.ts): database half only, Patroni moves no DNS.
 */
import type { DatabaseConfig } from '../src/config/schema.js';
import { waitFor } from '../test/support/daemon-process.js';
import { FailoverWorld, MANAGE } from '../test/support/failover-world.js';
import { startPgPair } from '../test/support/pg-cluster.js';
import { type PatroniTiming, patroniOnce } from './patroni.js';

interface Profile {
  name: string;
  probes: Record<string, unknown>;
  policy: Record<string, unknown>;
  promotion: Record<string, unknown>;
  db: Partial<DatabaseConfig>;
  budgetMs: number;
}

const PROFILES: Record<string, Profile> = {
  default: {
    name: 'default',
    probes: { interval: '5s', timeout: '2s', jitter: 0.1, rise: 2, fall: 3 },
    policy: { failAfter: '30s', recoverAfter: '2m', staleAfter: '30s' },
    promotion: { mode: 'automatic', promoteAfter: '1m' },
    db: {},
    budgetMs: 150_000,
  },
  aggressive: {
    name: 'aggressive',
    probes: { interval: '1s', timeout: '800ms', jitter: 0.1, rise: 2, fall: 2 },
    policy: { failAfter: '1s', recoverAfter: '30s', staleAfter: '5s' },
    promotion: { mode: 'automatic', promoteAfter: '5s' },
    // Durations as the YAML config takes them; the promoter's connect bound follows the probe timeout.
    db: { connectTimeout: '800ms', statementTimeout: '2s' } as unknown as Partial<DatabaseConfig>,
    budgetMs: 60_000,
  },
};

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}

interface Run {
  writableMs: number;
  dnsMs: number;
  recoveryMs: number;
}

async function once(p: Profile, n: number): Promise<Run> {
  const pg = await startPgPair({ name: `bench-${p.name}-${n}` });
  const world = new FailoverWorld();
  try {
    await world.start({
      db: { r1: pg.primary.config(p.db), r2: pg.standby.config(p.db) },
      rawDatabases: true,
      probes: p.probes,
      policy: p.policy,
      promotion: { maxLagSeconds: 10, maxLagBytes: '16MiB', ...p.promotion },
    });
    await world.startDaemon();
    await world.waitAllUp(60_000);
    await pg.primary.appQuery('CREATE TABLE bench (id serial PRIMARY KEY, at timestamptz DEFAULT now())');
    // The failure lands at a random phase of the probe cycle, as a real one would.
    const interval = p.name === 'default' ? 5_000 : 1_000;
    await new Promise((r) => setTimeout(r, Math.random() * interval));

    const t0 = performance.now();
    await Promise.all([pg.primary.kill(), world.stopR1Endpoints()]);
    let writableMs = -1;
    let dnsMs = -1;
    await waitFor(
      async () => {
        if (dnsMs < 0 && world.weights(MANAGE)?.r2 === 100) dnsMs = performance.now() - t0;
        if (writableMs < 0)
          try {
            await pg.standby.appQuery('INSERT INTO bench DEFAULT VALUES');
            writableMs = performance.now() - t0;
          } catch {
            // still a read-only replica
          }
        return writableMs >= 0 && dnsMs >= 0;
      },
      p.budgetMs,
      `recovery (${p.name} run ${n})`,
      50,
    );
    return { writableMs, dnsMs, recoveryMs: Math.max(writableMs, dnsMs) };
  } finally {
    await world.close();
    await pg.stop();
  }
}

const s = (ms: number) => (ms / 1000).toFixed(2);
function median(xs: number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  const m = Math.floor(a.length / 2);
  return a.length % 2 ? (a[m] as number) : ((a[m - 1] as number) + (a[m] as number)) / 2;
}

const PATRONI: Record<string, PatroniTiming> = {
  // Patroni's own defaults.
  'patroni-default': { name: 'default', ttl: 30, loopWait: 10, retryTimeout: 10 },
  // Tight but valid (loop_wait + 2 × retry_timeout ≤ ttl).
  'patroni-aggressive': { name: 'aggressive', ttl: 10, loopWait: 2, retryTimeout: 4 },
};

const runs = Number(arg('runs', '5'));
const which = arg('profile', 'both');
const patroni = PATRONI[which];
if (patroni) {
  const times: number[] = [];
  for (let i = 1; i <= runs; i++) {
    const ms = await patroniOnce(patroni);
    times.push(ms);
    console.log(`${which} run ${i}: writable ${s(ms)}s`);
  }
  console.log(
    `${which}: ${runs} runs, writable median ${s(median(times))}s, worst ${s(Math.max(...times))}s, best ${s(Math.min(...times))}s`,
  );
  process.exit(0);
}
const profiles = which === 'both' ? [PROFILES.aggressive, PROFILES.default] : [PROFILES[which]];
for (const p of profiles) {
  if (!p) throw new Error(`--profile must be default, aggressive or both, not ${which}`);
  const results: Run[] = [];
  for (let i = 1; i <= runs; i++) {
    const r = await once(p, i);
    results.push(r);
    console.log(
      `${p.name} run ${i}: writable ${s(r.writableMs)}s, management moved ${s(r.dnsMs)}s → recovery ${s(r.recoveryMs)}s`,
    );
  }
  const rec = results.map((r) => r.recoveryMs);
  console.log(
    `${p.name}: ${runs} runs, recovery median ${s(median(rec))}s, worst ${s(Math.max(...rec))}s, best ${s(Math.min(...rec))}s` +
      ` (writable median ${s(median(results.map((r) => r.writableMs)))}s, DNS median ${s(median(results.map((r) => r.dnsMs)))}s)`,
  );
}
