/**
 * What a user of `switchyard demo` sees after `curl -X POST …/control/r1/down`: seconds from the
 * break until api.r1 leaves r1, until r2 is promoted, and until management follows — with the
 * demo's own configuration (probes every 1 s, fall 2, failAfter 2 s, promoteAfter 8 s), the real
 * daemon and the simulated world in this process, the DNS file read as a user would read it.
 *
 *   npx tsx bench/demo-timings.ts [--runs 3]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Daemon } from '../src/daemon/daemon.js';
import { demoConfig } from '../src/demo/demo-config.js';
import { DemoWorld } from '../src/demo/world.js';

const runsFlag = process.argv.indexOf('--runs');
const runs = runsFlag >= 0 ? Number(process.argv[runsFlag + 1]) : 3;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function once(): Promise<{ api: number; promoted: number; management: number }> {
  const world = new DemoWorld();
  const dir = mkdtempSync(join(tmpdir(), 'sy-demo-timings-'));
  process.env.SWITCHYARD_DEMO_TOKEN = 'x';
  process.env.SWITCHYARD_DEMO_DB_PASSWORD = 'unused';
  await world.start(0);
  const daemon = new Daemon({
    config: demoConfig(world, dir, '127.0.0.1:0', '127.0.0.1:0'),
    logger: pino({ level: 'silent' }),
    databaseProbe: (t) => world.database(t.region, t.name).probe(),
    promoter: (region, key) => world.database(region, key).promoter(),
  });
  await daemon.start();
  const weight = (record: string, region: string): number | undefined => {
    try {
      return JSON.parse(readFileSync(join(dir, 'dns.json'), 'utf8')).records[record]?.[region]?.weight;
    } catch {
      return undefined;
    }
  };
  // Steady state first: every component up for a while, as when a user has read the banner.
  while (!daemon.status().regions.every((r) => r.components.every((c) => c.status === 'up'))) await sleep(50);
  await sleep(3_000);
  const t0 = Date.now();
  world.setRegion('r1', false);
  const at: { api?: number; promoted?: number; management?: number } = {};
  while (at.management === undefined && Date.now() - t0 < 60_000) {
    const t = (Date.now() - t0) / 1000;
    if (at.api === undefined && weight('api.r1.example.com/A', 'r2') === 100) at.api = t;
    if (at.promoted === undefined && daemon.status().main === 'r2') at.promoted = t;
    if (at.management === undefined && weight('manage.example.com/A', 'r2') === 100) at.management = t;
    await sleep(20);
  }
  await daemon.stop();
  await world.stop();
  rmSync(dir, { recursive: true, force: true });
  return {
    api: at.api ?? Number.NaN,
    promoted: at.promoted ?? Number.NaN,
    management: at.management ?? Number.NaN,
  };
}

const results: Array<{ api: number; promoted: number; management: number }> = [];
for (let i = 0; i < runs; i++) results.push(await once());
const row = (k: 'api' | 'promoted' | 'management') => results.map((r) => r[k].toFixed(1)).join(', ');
process.stdout.write(
  [
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; ${runs} runs`,
    'command: npx tsx bench/demo-timings.ts',
    '',
    '| from `control/r1/down` until … | seconds (each run) |',
    '| --- | --- |',
    `| api.r1 served by r2 (dns.json) | ${row('api')} |`,
    `| r2 promoted (status: main r2) | ${row('promoted')} |`,
    `| management on r2 (dns.json) | ${row('management')} |`,
    '',
  ].join('\n'),
);
