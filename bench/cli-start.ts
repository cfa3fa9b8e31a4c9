/**
 * CLI start-up cost: wall time of `switchyard --version`, `status` and an override command
 * (`drain`, `undrain`), each run as its own process exactly as an operator runs it
 * (`node dist/cli/main.js …`), side by side with a bare Node start (`node -e 0`) in the same
 * run, interleaved round by round so machine load hits every command alike. `status` and the
 * overrides talk to a real daemon (in this process, on the demo's simulated world). Goal: each
 * command ≤ 2.5× the bare Node start (median).
 *
 *   npm run build && npx tsx bench/cli-start.ts [--rounds 15] [--baseline <dir with dist/>]
 *
 * `--baseline` adds the same commands from another build (e.g. a checkout of an older commit,
 * built) for a before/after table.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { Daemon } from '../src/daemon/daemon.js';
import { demoConfig } from '../src/demo/demo-config.js';
import { DemoWorld } from '../src/demo/world.js';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const rounds = Number(flag('--rounds') ?? 15);
const baseline = flag('--baseline');
const ROOT = resolve(import.meta.dirname, '..');
const TOKEN = 'bench-token';

interface Case {
  name: string;
  argv: string[];
}

/** Wall time of one run, spawned without blocking this process (the daemon answering lives here). */
function time(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((done, fail) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, argv, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) done(ms);
      else fail(new Error(`${argv.join(' ')} exited ${code}: ${err}`));
    });
  });
}

function stats(xs: number[]): { median: number; p90: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { median: at(0.5), p90: at(0.9), min: s[0] as number };
}

async function main(): Promise<void> {
  const world = new DemoWorld();
  const dir = mkdtempSync(join(tmpdir(), 'sy-bench-cli-'));
  process.env.SWITCHYARD_DEMO_TOKEN = TOKEN;
  process.env.SWITCHYARD_DEMO_DB_PASSWORD = 'unused';
  await world.start(0);
  const daemon = new Daemon({
    config: demoConfig(world, dir, '127.0.0.1:0', '127.0.0.1:0'),
    logger: pino({ level: 'silent' }),
    databaseProbe: (t) => world.database(t.region, t.name).probe(),
    promoter: (region, key) => world.database(region, key).promoter(),
  });
  const a = await daemon.start();
  const env = {
    ...process.env,
    SWITCHYARD_ADDR: `127.0.0.1:${a.port}`,
    SWITCHYARD_ADMIN_ADDR: `127.0.0.1:${a.admin?.port}`,
    SWITCHYARD_TOKEN: TOKEN,
    NO_COLOR: '1',
  };
  const builds: Array<[string, string]> = [['now', join(ROOT, 'dist/cli/main.js')]];
  if (baseline) builds.push(['baseline', join(resolve(baseline), 'dist/cli/main.js')]);
  const cases: Case[] = [{ name: 'node -e 0', argv: ['-e', '0'] }];
  for (const [label, entry] of builds)
    cases.push(
      { name: `${label}: --version`, argv: [entry, '--version'] },
      { name: `${label}: status`, argv: [entry, 'status'] },
      { name: `${label}: drain r4`, argv: [entry, 'drain', 'r4', '--reason', 'bench'] },
      { name: `${label}: undrain r4`, argv: [entry, 'undrain', 'r4', '--reason', 'bench'] },
    );
  // A baseline may predate the split listeners and --reason: one address for everything, no reason
  // (a newer baseline takes the same request without a reason).
  const envFor = (c: Case) =>
    c.name.startsWith('baseline') && c.name.includes('drain')
      ? { ...env, SWITCHYARD_ADDR: env.SWITCHYARD_ADMIN_ADDR }
      : env;
  const argvFor = (c: Case) =>
    c.name.startsWith('baseline')
      ? c.argv.filter((x, i, all) => x !== '--reason' && all[i - 1] !== '--reason')
      : c.argv;

  // Warm-up (file cache), then interleaved rounds.
  for (const c of cases) await time(argvFor(c), envFor(c));
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < rounds; r++)
    for (const c of cases) samples.get(c.name)?.push(await time(argvFor(c), envFor(c)));

  await daemon.stop();
  await world.stop();
  rmSync(dir, { recursive: true, force: true });

  const bare = stats(samples.get('node -e 0') ?? []).median;
  const lines = [
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? '?'}, Node ${process.version}; ${rounds} rounds, interleaved`,
    `command: npx tsx bench/cli-start.ts --rounds ${rounds}${baseline ? ' --baseline <dir>' : ''}`,
    '',
    '| command | median ms | p90 ms | min ms | × bare node (median) | goal ≤ 2.5× |',
    '| --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const c of cases) {
    const s = stats(samples.get(c.name) ?? []);
    const x = s.median / bare;
    const goal =
      c.name === 'node -e 0' ? '' : c.name.startsWith('baseline') ? '(before)' : x <= 2.5 ? 'met' : 'MISSED';
    lines.push(
      `| \`${c.name}\` | ${s.median.toFixed(0)} | ${s.p90.toFixed(0)} | ${s.min.toFixed(0)} | ${x.toFixed(2)} | ${goal} |`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
