import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import type { StatusDocument } from '../../src/server/status.js';
import { waitFor } from '../support/daemon-process.js';
import { ROOT } from '../support/engine.js';
import { closedPort } from '../support/http-fixtures.js';
import { runCliInProcess } from '../support/run-cli.js';

/** `switchyard demo`: the README's first command, driven as its banner says. */
interface Demo {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

function spawnDemo(args: string[]): Demo {
  let out = '';
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', resolve(ROOT, 'src/cli/main.ts'), 'demo', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SWITCHYARD_DEMO_TOKEN: undefined },
    },
  );
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function stopDemo(d: Demo | undefined): Promise<void> {
  if (!d || d.child.exitCode !== null) return;
  d.child.kill('SIGTERM');
  const t = setTimeout(() => d.child.kill('SIGKILL'), 10_000);
  await d.exited;
  clearTimeout(t);
}

const dir = mkdtempSync(join(tmpdir(), 'sy-demo-'));
let demo: Demo;
let addr: string;
let adminAddr: string;
let worldPort: number;
let world: string;
const flags = () => [
  '--dir',
  dir,
  '--listen',
  addr,
  '--admin-listen',
  adminAddr,
  '--world-port',
  String(worldPort),
];

async function ready(d: Demo): Promise<void> {
  await waitFor(
    async () => {
      if (d.child.exitCode !== null) throw new Error(`daemon exited with ${d.child.exitCode}: ${d.out()}`);
      return (await fetch(`http://${addr}/readyz`).catch(() => undefined))?.status === 200;
    },
    30_000,
    'demo ready',
  );
}

beforeAll(async () => {
  addr = `127.0.0.1:${await closedPort()}`;
  adminAddr = `127.0.0.1:${await closedPort()}`;
  worldPort = await closedPort();
  world = `http://127.0.0.1:${worldPort}`;
  demo = spawnDemo(flags());
  await ready(demo);
}, 40_000);

afterAll(async () => {
  await stopDemo(demo);
});

const status = async () => (await (await fetch(`http://${addr}/v1/status`)).json()) as StatusDocument;
const env = () => ({
  SWITCHYARD_ADDR: addr,
  SWITCHYARD_ADMIN_ADDR: adminAddr,
  SWITCHYARD_TOKEN: 'demo-token',
});
const dns = () => JSON.parse(readFileSync(join(dir, 'dns.json'), 'utf8'));
const post = (path: string) => fetch(`${world}${path}`, { method: 'POST' });

describe('switchyard demo', () => {
  it('keeps its banner and token on screen: the JSON log goes to a file', async () => {
    const out = demo.out();
    expect(out).toContain('Try, in another terminal');
    expect(out).toContain('admin token: demo-token');
    expect(out).toContain('npx switchyard switchover --to r2');
    expect(out).toContain('/control/r1/rebuild');
    await new Promise((r) => setTimeout(r, 1_500));
    expect(
      demo
        .out()
        .split('\n')
        .filter((l) => l.startsWith('{')),
    ).toEqual([]);
    const log = readFileSync(join(dir, 'daemon.log'), 'utf8').trim().split('\n');
    expect(log.length).toBeGreaterThan(3);
    expect(JSON.parse(log[0] as string)).toHaveProperty('level');
  });

  it('a port clash names the flag that moves it (in process: the command returns before serving)', async () => {
    const other = mkdtempSync(join(tmpdir(), 'sy-demo-clash-'));
    const w = await runCliInProcess(['demo', '--dir', other, '--world-port', String(worldPort)]);
    expect(w.code).toBe(EXIT.INVALID);
    expect(w.stderr).toMatch(
      /already in use .*choose another with --world-port <port> \(0 picks a free one\)/,
    );
    const l = await runCliInProcess(['demo', '--dir', other, '--world-port', '0', '--listen', addr]);
    expect(l.code).toBe(EXIT.INVALID);
    expect(l.stderr).toMatch(/already in use .*--listen <host:port> and --admin-listen <host:port>/);
  }, 30_000);

  it('planned switchover to r2, rebuild of r1, failback to r1 — as the banner says', async () => {
    await waitFor(
      async () => (await status()).regions.every((r) => r.components.every((c) => c.status === 'up')),
      15_000,
      'all up',
    );
    const to2 = await runCliInProcess(['switchover', '--to', 'r2', '--reason', 'demo drill', '--yes'], {
      env: env(),
    });
    expect(to2.stderr).toBe('');
    expect(to2.code).toBe(EXIT.OK);
    expect(to2.stdout).toContain('switchover done: r2 is the main (epoch 1)');
    expect(await status()).toMatchObject({ main: 'r2', epoch: 1 });
    await waitFor(() => dns().records['manage.example.com/A'].r2.weight === 100, 5_000, 'management on r2');

    expect((await post('/control/r2/rebuild')).status).toBe(409); // r2 is the main: nothing to rebuild
    expect((await post('/control/r1/rebuild')).status).toBe(200);
    await waitFor(
      async () => (await status()).regions.find((r) => r.id === 'r1')?.currentRole === 'replica',
      10_000,
      'r1 rebuilt as a replica',
    );
    const to1 = await runCliInProcess(['switchover', '--to', 'r1', '--reason', 'demo failback', '--yes'], {
      env: env(),
    });
    expect(to1.code, to1.stdout + to1.stderr).toBe(EXIT.OK);
    expect(to1.stdout).toContain('switchover done: r1 is the main (epoch 2)');
    await waitFor(
      () => dns().records['manage.example.com/A'].r1.weight === 100,
      5_000,
      'management back on r1',
    );
    expect((await post('/control/r2/rebuild')).status).toBe(200);
    await waitFor(
      async () => (await status()).regions.find((r) => r.id === 'r2')?.currentRole === 'replica',
      10_000,
      'r2 a replica again',
    );
  }, 40_000);

  it('loses its main region safely', async () => {
    const r = await post('/control/r1/down');
    expect(r.status).toBe(200);
    await waitFor(async () => (await status()).main === 'r2', 40_000, 'r2 promoted');
    expect((await status()).epoch).toBe(3);
    await waitFor(() => dns().records['manage.example.com/A'].r2.weight === 100, 5_000, 'management moved');
    expect(dns().records['api.r1.example.com/A'].r2.weight).toBe(100);
    expect(dns().records['manage.example.com/A'].r1.weight).toBe(0);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    const promotions = state.journal.filter((e: { action: string }) => e.action === 'promote');
    expect(promotions.slice(-2).map((e: { phase: string }) => e.phase)).toEqual(['intent', 'done']);
  }, 60_000);

  it('a second run starts fresh; --keep keeps the state of the previous one', async () => {
    // In process, against the running demo's world port: the files are dealt with before the
    // clash ends the command, which shows what a real second run starts from.
    const before = readFileSync(join(dir, 'state.json'), 'utf8');
    const kept = await runCliInProcess(['demo', '--dir', dir, '--keep', '--world-port', String(worldPort)]);
    expect(kept.code).toBe(EXIT.INVALID);
    expect(readFileSync(join(dir, 'state.json'), 'utf8')).toBe(before);
    const fresh = await runCliInProcess(['demo', '--dir', dir, '--world-port', String(worldPort)]);
    expect(fresh.code).toBe(EXIT.INVALID);
    for (const f of ['state.json', 'dns.json', 'daemon.log']) expect(existsSync(join(dir, f)), f).toBe(false);
  }, 30_000);
});
