/**
 * DNS benchmark: API calls and wall time to move every record of a deployment from one decision,
 * and the calls made in 10 minutes of steady state (compressed: 120 engine ticks of 5 s, plus the
 * two periodic full reconciles a 5-minute cron would run). Real AWS SDK against the local Route 53
 * emulator, with the production defaults for pacing (5 requests/s) and retries.
 *
 *   npx tsx bench/dns-moves.ts
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createDnsMetrics } from '../src/dns/metrics.js';
import { DnsReconciler } from '../src/dns/reconciler.js';
import { Route53DnsProvider } from '../src/dns/route53.js';
import type { RecordDef } from '../src/topology/types.js';
import { systemClock } from '../src/util/clock.js';
import { Route53Emulator } from '../test/support/route53-emulator.js';
import {
  asEmulatorSets,
  desiredAll,
  liveSets,
  manyRecords,
  seedLayout,
} from '../test/support/route53-fixtures.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

interface Result {
  name: string;
  records: number;
  sets: number;
  setsChanged: number;
  startupCalls: Record<string, number>;
  moveCalls: Record<string, number>;
  moveMs: number;
  insyncMs: number;
  steadyWrites: number;
  steadyCallsTicks: number;
  steadyCallsWithCron: Record<string, number>;
}

async function run(name: string, records: readonly RecordDef[]): Promise<Result> {
  const emu = new Route53Emulator({ insyncDelayMs: 0 });
  const endpoint = await emu.start();
  emu.seed(asEmulatorSets(liveSets(records)));
  const metrics = createDnsMetrics(new Registry());
  const logger = pino({ level: 'silent' });
  const provider = new Route53DnsProvider(
    {
      hostedZoneId: emu.zoneId,
      region: 'us-east-1',
      endpoint,
      maxRequestsPerSecond: 5,
      pollInterval: 100,
      syncTimeout: 120_000,
      maxRetries: 6,
    },
    { credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' }, clock: systemClock, logger, metrics },
  );
  const r = new DnsReconciler({
    provider,
    records,
    logger,
    metrics,
    clock: systemClock,
    options: { dryRun: false, createMissing: false },
  });
  await r.start();
  const startupCalls = { ...emu.calls };
  emu.resetCounters();

  const t0 = performance.now();
  const outcome = await r.submit(desiredAll(records, true));
  const moveMs = performance.now() - t0;
  const insync = await outcome.insync;
  const insyncMs = performance.now() - t0;
  const moveCalls = { ...emu.calls };
  emu.resetCounters();

  const steady = desiredAll(records, true);
  for (let tick = 0; tick < 120; tick++) await r.submit(steady);
  const steadyCallsTicks = emu.totalCalls();
  await r.fullReconcile(); // cron at +5 min
  await r.fullReconcile(); // cron at +10 min
  const steadyCallsWithCron = { ...emu.calls };
  await r.close();
  await emu.stop();
  if (insync?.status !== 'INSYNC') throw new Error(`${name}: change not INSYNC (${insync?.status})`);
  return {
    name,
    records: records.length,
    sets: liveSets(records).length,
    setsChanged: outcome.changes.length,
    startupCalls,
    moveCalls,
    moveMs,
    insyncMs,
    steadyWrites: steadyCallsWithCron.ChangeResourceRecordSets,
    steadyCallsTicks,
    steadyCallsWithCron,
  };
}

function fmtCalls(c: Record<string, number>): string {
  return (
    Object.entries(c)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || '0'
  );
}

async function main(): Promise<void> {
  const results = [
    await run('4 regions × 3 classes (seed layout)', seedLayout()),
    await run('200 records × 3 regions', manyRecords(200, ['r1', 'r2', 'r3'])),
  ];
  const cpu = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  console.log(`machine: ${cpus().length} CPUs (${cpu}), node ${process.version}`);
  console.log(
    '| deployment | sets | sets moved | startup reads | calls for the move | wall time to applied | to INSYNC | steady state: 120 ticks | + 2 full reconciles | writes in steady state |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const x of results)
    console.log(
      `| ${x.name} | ${x.sets} | ${x.setsChanged} | ${fmtCalls(x.startupCalls)} | ${fmtCalls(x.moveCalls)} | ${x.moveMs.toFixed(0)} ms | ${x.insyncMs.toFixed(0)} ms | ${x.steadyCallsTicks} calls | ${fmtCalls(x.steadyCallsWithCron)} | ${x.steadyWrites} |`,
    );
  if (results.some((x) => x.steadyWrites !== 0 || x.steadyCallsTicks !== 0)) {
    console.error('FAIL: steady state made API calls');
    process.exitCode = 1;
  }
}

await main();
