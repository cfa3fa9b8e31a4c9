/**
 * Several instances on etcd, measured as they run in production: child processes of the real CLI
 * on a real three-member etcd cluster, writing the Route 53 emulator through the real AWS SDK,
 * probing real local endpoints and a real PostgreSQL pair (test/support/multi-world.ts).
 *
 *   npx tsx bench/multi-instance.ts [--part takeover|detection|recovery|all] [--runs 5]
 *
 * - takeover:  `kill -9` of the leading instance → another instance takes the leader key (its own
 *              log's `leader` event; wall clock, one host). Goal: ≤ lease TTL + 1 s.
 * - detection: a gateway stops → the Route 53 emulator receives the change, with three observers
 *              against one (same settings). Goal: the quorum adds at most one probe interval.
 * - recovery:  `kill -9` of the main's PostgreSQL primary with r1's gateway and key manager gone →
 *              the first application write accepted on the promoted standby AND management moved
 *              in Route 53, three observers, at aggressive settings. Goal asked for: ≤ 1.8 s.
 */
import { waitFor } from '../test/support/daemon-process.js';
import { MultiWorld } from '../test/support/multi-world.js';

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? dflt) : dflt;
}
const RUNS = Number(arg('runs', '5'));
const PART = arg('part', 'all');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const fmt = (xs: number[]) =>
  `median ${median(xs)} ms, best ${Math.min(...xs)} ms, worst ${Math.max(...xs)} ms (${xs.join(', ')})`;

function eventAfter(
  events: Array<Record<string, unknown>>,
  event: string,
  after: number,
): number | undefined {
  for (const e of events) {
    const t = Date.parse(String(e.time));
    if (e.event === event && t >= after) return t;
  }
  return undefined;
}

async function takeover(): Promise<number[]> {
  const out: number[] = [];
  const w = await MultiWorld.start({ name: 'bench-takeover', leaseTtl: '2s' });
  try {
    await w.waitAllUp();
    for (let i = 0; i < RUNS; i++) {
      const leader = await w.waitLeader(30_000);
      // A random phase of the leader's keep-alive cycle.
      await sleep(500 + Math.random() * 2_000);
      const killedAt = Date.now();
      leader.daemon.signal('SIGKILL');
      let took: number | undefined;
      await waitFor(
        () => {
          for (const o of w.observers) {
            if (o === leader) continue;
            took ??= eventAfter(o.daemon.events(), 'leader', killedAt);
          }
          return took !== undefined;
        },
        30_000,
        'another leader',
        10,
      );
      out.push((took as number) - killedAt);
      process.stdout.write(`takeover ${i + 1}: ${(took as number) - killedAt} ms\n`);
      leader.daemon.start();
      await leader.daemon.waitReady(30_000);
    }
  } finally {
    await w.stop();
  }
  return out;
}

async function detection(observers: Array<'r2' | 'r3' | 'r4'>): Promise<number[]> {
  const out: number[] = [];
  const w = await MultiWorld.start({
    name: `bench-detect-${observers.length}`,
    observers,
    policy: { failAfter: '0s', recoverAfter: '2s', promotion: { mode: 'manual', promoteAfter: '1m' } },
  });
  try {
    await w.waitAllUp();
    await w.waitLeader(30_000);
    for (let i = 0; i < RUNS; i++) {
      await sleep(700 + Math.random() * 500); // a random phase of the probe cycle
      const before = w.emu.batches.length;
      const stoppedAt = Date.now();
      await w.gw.r3.stop();
      await waitFor(() => w.weights('api.r3.example.com/A').r3 === 0, 30_000, 'api.r3 moved', 5);
      const idx = w.emu.batches.findIndex(
        (b, j) => j >= before && b.changes.some((c) => c.set.setIdentifier === 'r3' && c.set.weight === 0),
      );
      const ms = (w.batchTimes[idx] as number) - stoppedAt;
      out.push(ms);
      process.stdout.write(`detection (${observers.length} observer(s)) ${i + 1}: ${ms} ms\n`);
      await w.gw.r3.start();
      await waitFor(() => w.weights('api.r3.example.com/A').r3 === 100, 30_000, 'api.r3 back', 20);
    }
  } finally {
    await w.stop();
  }
  return out;
}

async function recovery(): Promise<Array<{ writable: number; dns: number; recovery: number }>> {
  const out: Array<{ writable: number; dns: number; recovery: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    const w = await MultiWorld.start({
      name: `bench-recovery-${i}`,
      leaseTtl: '2s',
      // The most aggressive settings `validate` accepts without a warning: probes every 0.5 s,
      // down after 2 failures, traffic moves at once, promotion after fall × interval.
      probes: { interval: '500ms', timeout: '400ms', jitter: 0.1, rise: 2, fall: 2 },
      policy: { failAfter: '0s', recoverAfter: '5s', promotion: { mode: 'automatic', promoteAfter: '1s' } },
    });
    try {
      await w.waitAllUp();
      await w.waitLeader(30_000);
      await w.pg.primary.appQuery('CREATE TABLE IF NOT EXISTS orders (id int PRIMARY KEY)');
      await sleep(1_000 + Math.random() * 500);
      const killedAt = Date.now();
      await Promise.all([w.gw.r1.stop(), w.km.r1.stop(), w.pg.killPrimary()]);
      let writable = 0;
      let dns = 0;
      await waitFor(
        async () => {
          if (!writable)
            await w.pg.standby
              .appQuery('INSERT INTO orders VALUES (1)')
              .then(() => {
                writable = Date.now() - killedAt;
              })
              .catch(() => undefined);
          if (!dns && w.weights('manage.example.com/A').r2 === 100) dns = Date.now() - killedAt;
          return writable > 0 && dns > 0;
        },
        60_000,
        'r2 writable and management moved',
        5,
      );
      out.push({ writable, dns, recovery: Math.max(writable, dns) });
      process.stdout.write(`recovery ${i + 1}: writable ${writable} ms, management ${dns} ms\n`);
    } finally {
      await w.stop();
    }
  }
  return out;
}

const results: string[] = [];
if (PART === 'takeover' || PART === 'all')
  results.push(`takeover after kill -9 (lease TTL 2 s): ${fmt(await takeover())}`);
if (PART === 'detection' || PART === 'all') {
  const one = await detection(['r2']);
  const three = await detection(['r2', 'r3', 'r4']);
  results.push(`detection → Route 53, one observer: ${fmt(one)}`);
  results.push(`detection → Route 53, three observers: ${fmt(three)}`);
  results.push(
    `three against one, median difference: ${median(three) - median(one)} ms (probe interval 500 ms)`,
  );
}
if (PART === 'recovery' || PART === 'all') {
  const r = await recovery();
  results.push(`recovery, three observers, aggressive: ${fmt(r.map((x) => x.recovery))}`);
  results.push(
    `  of which writable: ${fmt(r.map((x) => x.writable))}; management: ${fmt(r.map((x) => x.dns))}`,
  );
}
process.stdout.write(`\n${results.join('\n')}\n`);
