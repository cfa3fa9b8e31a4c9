import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../../src/server/status.js';
import { waitFor } from '../support/daemon-process.js';
import { ROOT } from '../support/engine.js';
import { closedPort } from '../support/http-fixtures.js';

/** `switchyard demo`: the README's first command, watched through a lost main region. */
let child: ChildProcess;
let out = '';
let addr: string;
let world: string;
const dir = mkdtempSync(join(tmpdir(), 'sy-demo-'));

beforeAll(async () => {
  addr = `127.0.0.1:${await closedPort()}`;
  const worldPort = await closedPort();
  world = `http://127.0.0.1:${worldPort}`;
  child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve(ROOT, 'src/cli/main.ts'),
      'demo',
      '--dir',
      dir,
      '--listen',
      addr,
      '--world-port',
      String(worldPort),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(
    async () => (await fetch(`http://${addr}/readyz`).catch(() => undefined))?.status === 200,
    30_000,
    `demo ready\n${out}`,
  );
});

afterAll(() => {
  child?.kill('SIGTERM');
});

const status = async () => (await (await fetch(`http://${addr}/v1/status`)).json()) as StatusDocument;

describe('switchyard demo', () => {
  it('prints how to drive it, and loses its main region safely', async () => {
    expect(out).toContain('/control/r1/down');
    await waitFor(
      async () => (await status()).regions.every((r) => r.components.every((c) => c.status === 'up')),
      15_000,
      'all up',
    );
    const r = await fetch(`${world}/control/r1/down`, { method: 'POST' });
    expect(r.status).toBe(200);
    await waitFor(async () => (await status()).main === 'r2', 40_000, 'r2 promoted');
    const s = await status();
    expect(s.epoch).toBe(1);
    await waitFor(
      () =>
        JSON.parse(readFileSync(join(dir, 'dns.json'), 'utf8')).records['manage.example.com/A'].r2.weight ===
        100,
      5_000,
      'management moved',
    );
    const dns = JSON.parse(readFileSync(join(dir, 'dns.json'), 'utf8'));
    expect(dns.records['api.r1.example.com/A'].r2.weight).toBe(100);
    expect(dns.records['manage.example.com/A'].r1.weight).toBe(0);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8'));
    expect(
      state.journal
        .filter((e: { action: string; phase: string }) => e.action === 'promote')
        .map((e: { phase: string }) => e.phase),
    ).toEqual(['intent', 'done']);
  });
});
