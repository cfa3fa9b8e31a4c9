import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTcpProbe } from '../../src/probe/tcp.js';
import { type BlackHole, startBlackHole } from '../support/black-hole.js';
import { closedPort, startTcpServer } from '../support/http-fixtures.js';

// A loopback port whose SYNs go unanswered (see support/black-hole.ts): never an outside address.
let blackHole: BlackHole;
beforeAll(async () => {
  blackHole = await startBlackHole();
});
afterAll(async () => {
  await blackHole?.close();
});

describe('TCP probe', () => {
  it('is ok when the port accepts, and closes its socket', async () => {
    let closed = 0;
    const s = await startTcpServer((sock) => {
      sock.on('close', () => closed++);
      sock.on('error', () => undefined);
    });
    const p = createTcpProbe({ host: '127.0.0.1', port: s.port }, { timeoutMs: 1_000 });
    const r = await p.run();
    expect(r).toMatchObject({ ok: true });
    expect(r.detail).toMatch(/^connected in \d+ms$/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(s.connections()).toBe(1);
    expect(closed).toBe(1);
    await p.close();
    await s.close();
  });

  it('an abort before start is "aborted" without connecting', async () => {
    const s = await startTcpServer((sock) => sock.on('error', () => undefined));
    const p = createTcpProbe({ host: '127.0.0.1', port: s.port }, { timeoutMs: 1_000 });
    const ac = new AbortController();
    ac.abort();
    expect(await p.run(ac.signal)).toMatchObject({ ok: false, error: 'aborted' });
    expect(s.connections()).toBe(0);
    await s.close();
  });

  it('is error "refused" on a closed port', async () => {
    const port = await closedPort();
    const p = createTcpProbe({ host: '127.0.0.1', port }, { timeoutMs: 1_000 });
    expect(await p.run()).toMatchObject({ ok: false, error: 'refused' });
  });

  it('times out against a black hole within the timeout', async () => {
    const p = createTcpProbe({ host: blackHole.host, port: blackHole.port }, { timeoutMs: 300 });
    const t0 = Date.now();
    const r = await p.run();
    expect(r.ok).toBe(false);
    expect(r.error).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('an abort ends the attempt as "aborted"', async () => {
    const p = createTcpProbe({ host: blackHole.host, port: blackHole.port }, { timeoutMs: 5_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 30);
    const r = await p.run(ac.signal);
    expect(r.ok).toBe(false);
    expect(r.error).toBe('aborted');
  });
});
