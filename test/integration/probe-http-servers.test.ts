import { EventEmitter } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpCheckConfig } from '../../src/config/schema.js';
import { createHttpProbe } from '../../src/probe/http.js';
import { closedPort, startHttpServer, startTcpServer, type TestServer } from '../support/http-fixtures.js';

function check(url: string, extra: Partial<HttpCheckConfig> = {}): HttpCheckConfig {
  return { url, method: 'GET', headers: {}, expectStatus: [200], ...extra };
}

const opts = { timeoutMs: 500, maxBodyBytes: 5_120 };

describe('HTTP probe against real local servers', () => {
  let server: TestServer;
  let endlessBytes = 0;
  const seen: { method?: string; auth?: string; body?: string } = {};

  beforeAll(async () => {
    server = await startHttpServer((req, res) => {
      const path = req.url ?? '/';
      if (path === '/ok') {
        res.end('{"status":"healthy","version":"4.2.0"}');
      } else if (path === '/unavailable') {
        res.statusCode = 503;
        res.end('maintenance');
      } else if (path === '/slow') {
        const t = setTimeout(() => res.end('late'), 3_000);
        res.on('close', () => clearTimeout(t));
      } else if (path === '/slow-body') {
        res.writeHead(200);
        res.write('start');
        const t = setTimeout(() => res.end('late'), 3_000);
        res.on('close', () => clearTimeout(t));
      } else if (path === '/endless') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = Buffer.alloc(16_384, 'x');
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) endlessBytes += chunk.length;
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      } else if (path === '/late-marker') {
        res.end(`${'x'.repeat(10_000)}MARKER`);
      } else if (path === '/echo') {
        let body = '';
        req.on('data', (c) => {
          body += c;
        });
        req.on('end', () => {
          seen.method = req.method;
          seen.auth = req.headers.authorization;
          seen.body = body;
          res.end(req.method === 'HEAD' ? undefined : 'echoed');
        });
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
  });
  afterAll(async () => {
    await server.close();
  });

  it('an up endpoint is ok with status and latency', async () => {
    const p = createHttpProbe(check(`${server.origin}/ok`), opts);
    const r = await p.run();
    await p.close();
    expect(r).toMatchObject({ ok: true, status: 200 });
    expect(r.error).toBeUndefined();
    expect(r.latencyMs).toBeGreaterThanOrEqual(0);
    expect(r.detail).toMatch(/^200 in \d+ms$/);
  });

  it('a refused connection is error "refused"', async () => {
    const port = await closedPort();
    const p = createHttpProbe(check(`http://127.0.0.1:${port}/`), opts);
    const r = await p.run();
    await p.close();
    expect(r).toMatchObject({ ok: false, error: 'refused' });
  });

  it('a server slower than the timeout is error "timeout", returned at the timeout', async () => {
    const p = createHttpProbe(check(`${server.origin}/slow`), opts);
    const t0 = Date.now();
    const r = await p.run();
    await p.close();
    expect(r).toMatchObject({ ok: false, error: 'timeout', detail: 'timeout after 500ms' });
    expect(Date.now() - t0).toBeLessThan(1_500);
  });

  it('a body that stalls after the headers also times out', async () => {
    const p = createHttpProbe(check(`${server.origin}/slow-body`, { bodyMatch: 'late' }), opts);
    const r = await p.run();
    await p.close();
    expect(r).toMatchObject({ ok: false, error: 'timeout' });
  });

  it('a 503 is error "status" carrying the status', async () => {
    const p = createHttpProbe(check(`${server.origin}/unavailable`), opts);
    const r = await p.run();
    await p.close();
    expect(r).toMatchObject({ ok: false, error: 'status', status: 503, detail: 'status 503, expected 200' });
  });

  it('expectStatus can accept a 503 (e.g. a drained-but-alive endpoint)', async () => {
    const p = createHttpProbe(check(`${server.origin}/unavailable`, { expectStatus: [200, 503] }), opts);
    expect((await p.run()).ok).toBe(true);
    await p.close();
  });

  it('an endless body is read only up to maxBodyBytes and returns well within the timeout', async () => {
    endlessBytes = 0;
    const p = createHttpProbe(check(`${server.origin}/endless`, { bodyMatch: 'never-there' }), {
      timeoutMs: 2_000,
      maxBodyBytes: 5_120,
    });
    const before = process.memoryUsage().rss;
    const t0 = Date.now();
    const r = await p.run();
    const took = Date.now() - t0;
    await p.close();
    expect(r).toMatchObject({ ok: false, error: 'body-mismatch', status: 200 });
    expect(r.detail).toContain('first 5120 bytes');
    expect(took).toBeLessThan(1_000);
    // The server could only push what socket buffers absorb before we stopped reading.
    expect(endlessBytes).toBeLessThan(16 * 1_048_576);
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1_048_576);
  });

  it('bodyMatch and bodyRegex match within the body', async () => {
    const ok1 = createHttpProbe(check(`${server.origin}/ok`, { bodyMatch: '"healthy"' }), opts);
    const ok2 = createHttpProbe(check(`${server.origin}/ok`, { bodyRegex: '"version":"4\\.\\d+' }), opts);
    const bad = createHttpProbe(check(`${server.origin}/ok`, { bodyRegex: '"status":"down"' }), opts);
    expect((await ok1.run()).ok).toBe(true);
    expect((await ok2.run()).ok).toBe(true);
    expect(await bad.run()).toMatchObject({ ok: false, error: 'body-mismatch' });
    await Promise.all([ok1.close(), ok2.close(), bad.close()]);
  });

  it('a match beyond maxBodyBytes does not count (first-N-bytes rule)', async () => {
    const p = createHttpProbe(check(`${server.origin}/late-marker`, { bodyMatch: 'MARKER' }), opts);
    expect(await p.run()).toMatchObject({ ok: false, error: 'body-mismatch' });
    await p.close();
    const big = createHttpProbe(
      check(`${server.origin}/late-marker`, { bodyMatch: 'MARKER', maxBodyBytes: 20_000 }),
      opts,
    );
    expect((await big.run()).ok).toBe(true);
    await big.close();
  });

  it('garbage instead of HTTP is error "protocol"', async () => {
    const junk = await startTcpServer((s) => {
      s.on('data', () => s.end('SSH-2.0-OpenSSH_9.6 not http at all\r\n\r\n'));
      s.on('error', () => undefined);
    });
    const p = createHttpProbe(check(`${junk.origin}/`), opts);
    const r = await p.run();
    await p.close();
    await junk.close();
    expect(r).toMatchObject({ ok: false, error: 'protocol' });
  });

  it('a peer that closes without answering is error "reset"', async () => {
    const rude = await startTcpServer((s) => {
      s.on('data', () => s.destroy());
      s.on('error', () => undefined);
    });
    const p = createHttpProbe(check(`${rude.origin}/`), opts);
    const r = await p.run();
    await p.close();
    await rude.close();
    expect(r).toMatchObject({ ok: false, error: 'reset' });
  });

  it('reuses one keep-alive connection across runs', async () => {
    const s = await startHttpServer((_req, res) => res.end('ok'));
    const p = createHttpProbe(check(`${s.origin}/`), opts);
    for (let i = 0; i < 5; i++) expect((await p.run()).ok).toBe(true);
    await p.close();
    expect(s.requests()).toBe(5);
    expect(s.connections()).toBe(1);
    await s.close();
  });

  it('HEAD and POST with a body and a bearer token resolved at run time', async () => {
    const head = createHttpProbe(check(`${server.origin}/echo`, { method: 'HEAD' }), opts);
    expect((await head.run()).ok).toBe(true);
    expect(seen.method).toBe('HEAD');
    await head.close();

    let token = 'first-token';
    const post = createHttpProbe(
      check(`${server.origin}/echo`, {
        method: 'POST',
        body: 'grant_type=client_credentials',
        bearerToken: 'env:KM_TOKEN',
      }),
      { ...opts, secrets: () => token },
    );
    expect((await post.run()).ok).toBe(true);
    expect(seen).toMatchObject({
      method: 'POST',
      auth: 'Bearer first-token',
      body: 'grant_type=client_credentials',
    });
    token = 'rotated-token';
    await post.run();
    expect(seen.auth).toBe('Bearer rotated-token');
    await post.close();
  });

  it('an unresolvable token is error "secret" and the detail does not leak values', async () => {
    const p = createHttpProbe(
      check(`${server.origin}/ok`, { bearerToken: 'env:SWITCHYARD_TEST_UNSET_TOKEN' }),
      opts,
    );
    const r = await p.run();
    await p.close();
    expect(r).toMatchObject({ ok: false, error: 'secret' });
    expect(r.detail).toContain('SWITCHYARD_TEST_UNSET_TOKEN');
  });

  it('an external abort is error "aborted"; an abort with a TimeoutError is "timeout"', async () => {
    const p = createHttpProbe(check(`${server.origin}/slow`), { ...opts, timeoutMs: 5_000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    expect(await p.run(ac.signal)).toMatchObject({ ok: false, error: 'aborted' });
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(new DOMException('deadline', 'TimeoutError')), 50);
    expect(await p.run(ac2.signal)).toMatchObject({ ok: false, error: 'timeout' });
    await p.close();
  });

  it('after a protocol error the next run starts on a fresh connection (a failed connection is never reused)', async () => {
    let garbage = true;
    const flaky = await startTcpServer((sock) => {
      sock.on('error', () => undefined);
      sock.on('data', () => {
        if (garbage) sock.end('NOT HTTP\r\n\r\n');
        else sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nkeep-alive: timeout=30\r\n\r\nok');
      });
    });
    const p = createHttpProbe(check(`${flaky.origin}/`), opts);
    expect(await p.run()).toMatchObject({ ok: false, error: 'protocol' });
    garbage = false;
    expect(await p.run()).toMatchObject({ ok: true, status: 200 });
    expect(await p.run()).toMatchObject({ ok: true, status: 200 });
    // One connection for the garbage, one fresh one reused by both good runs.
    expect(flaky.connections()).toBe(2);
    await p.close();
    await flaky.close();
  });

  it('reset() drops a connection that never answers: the run in flight settles at once, the next starts afresh', async () => {
    let hang = true;
    const s = await startHttpServer((_req, res) => {
      if (!hang) res.end('ok');
      // else: never answer
    });
    const p = createHttpProbe(check(`${s.origin}/`), { ...opts, timeoutMs: 60_000 });
    const ac = new AbortController(); // never aborted: only reset() can end this run
    const t0 = performance.now();
    const running = p.run(ac.signal);
    await new Promise((r) => setTimeout(r, 100));
    p.reset?.('test');
    const r = await running;
    expect(r.ok).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1_000);
    hang = false;
    expect(await p.run(ac.signal)).toMatchObject({ ok: true, status: 200 });
    expect(s.connections()).toBe(2);
    await p.close();
    await s.close();
  });

  it('runs on one reused signal leave no abort listener behind', async () => {
    const p = createHttpProbe(check(`${server.origin}/ok`), opts);
    const ac = new AbortController();
    for (let i = 0; i < 20; i++) expect((await p.run(ac.signal)).ok).toBe(true);
    expect(await p.run(ac.signal)).toMatchObject({ ok: true });
    expect(EventEmitter.getEventListeners(ac.signal, 'abort')).toHaveLength(0);
    await p.close();
  });
});
