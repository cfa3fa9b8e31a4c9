/**
 * Detection (probe → health part): how long after a gateway starts failing does the health
 * layer declare its component down, against the floor fall × interval? Real HTTP probes, the
 * real scheduler and HealthTracker; the gateway is a local server that starts answering 503.
 * (The DNS half — health change to provider write — belongs to the daemon's bench.)
 *
 *   npx tsx bench/detection.ts [--interval 1000] [--fall 3] [--rounds 5]
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthTarget } from '../src/health/targets.js';
import { HealthTracker } from '../src/health/tracker.js';
import { createHttpProbe } from '../src/probe/http.js';
import { ProbeScheduler } from '../src/probe/scheduler.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
const intervalMs = arg('interval', 1_000);
const fall = arg('fall', 3);
const rounds = arg('rounds', 5);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function round(): Promise<{ detectMs: number; recoverMs: number }> {
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

const out: { detectMs: number; recoverMs: number }[] = [];
for (let i = 0; i < rounds; i++) out.push(await round());
const fmt = (xs: number[]) => xs.map((x) => Math.round(x)).join(', ');
console.log(
  JSON.stringify(
    {
      intervalMs,
      fall,
      rise: 2,
      floorDetectMs: fall * intervalMs,
      detectMs: fmt(out.map((r) => r.detectMs)),
      recoverMs: fmt(out.map((r) => r.recoverMs)),
      maxDetectMs: Math.round(Math.max(...out.map((r) => r.detectMs))),
      node: process.version,
    },
    null,
    2,
  ),
);
