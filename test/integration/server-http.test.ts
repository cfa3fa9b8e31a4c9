import { connect } from 'node:net';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promtoolCheck } from '../support/promtool.js';
import { STUB_TOKEN, type StubDaemon, startStubDaemon } from '../support/stub-daemon.js';

const auth = { authorization: `Bearer ${STUB_TOKEN}` };
const json = { 'content-type': 'application/json' };

async function call(
  d: StubDaemon,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'HEAD',
  path: string,
  opts: { headers?: Record<string, string>; body?: string } = {},
) {
  // The admin API has its own listener (admin.listen); everything else is on the read-only one.
  const base = path.startsWith('/v1/admin/') ? d.adminUrl : d.url;
  const res = await request(`${base}${path}`, { method, headers: opts.headers, body: opts.body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

describe('server on a real listener', () => {
  let d: StubDaemon;
  beforeAll(async () => {
    d = await startStubDaemon();
  });
  afterAll(async () => {
    await d.close();
  });

  it('listens on loopback', () => {
    expect(d.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('GET /healthz → 200 ok', async () => {
    const r = await call(d, 'GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.text).toBe('ok\n');
  });

  it('GET /readyz → 503 with a reason until ready, then 200', async () => {
    d.readiness.ready = false;
    d.readiness.reason = 'first probe round not done';
    const r = await call(d, 'GET', '/readyz');
    expect(r.status).toBe(503);
    expect(r.text).toContain('first probe round not done');
    d.readiness.ready = true;
    expect((await call(d, 'GET', '/readyz')).status).toBe(200);
  });

  it('GET /metrics → Prometheus text that promtool accepts', async () => {
    const r = await call(d, 'GET', '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.text).toContain('switchyard_epoch');
    const check = promtoolCheck(r.text);
    expect(check.output).toBe('');
    expect(check.status).toBe(0);
  });

  it('GET /v1/status → the status document without a token', async () => {
    const r = await call(d, 'GET', '/v1/status');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    const doc = r.json();
    expect(doc.version).toBe(1);
    expect(doc.main).toBe('r1');
    expect(doc.regions.map((x: { id: string }) => x.id)).toEqual(['r1', 'r2', 'r3', 'r4']);
  });

  it('HEAD on a read route → 200 without a body', async () => {
    const r = await call(d, 'HEAD', '/healthz');
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
  });

  it('unknown path → 404', async () => {
    const r = await call(d, 'GET', '/v1/nope');
    expect(r.status).toBe(404);
    expect(r.json().error.code).toBe('NOT_FOUND');
  });

  it('wrong method → 405 with Allow', async () => {
    const r = await call(d, 'POST', '/metrics');
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
    const a = await call(d, 'GET', '/v1/admin/drain');
    expect(a.status).toBe(405);
    expect(a.headers.allow).toBe('POST');
  });

  it('admin without a token → 401 with WWW-Authenticate: Bearer', async () => {
    const r = await call(d, 'POST', '/v1/admin/freeze');
    expect(r.status).toBe(401);
    expect(String(r.headers['www-authenticate'])).toMatch(/^Bearer/);
    expect(r.json().error).toEqual({ code: 'ADMIN_UNAUTHORIZED', message: 'missing bearer token' });
    expect(d.calls).not.toContain('freeze');
  });

  it('admin with a wrong token, a prefix of it, or another scheme → 401', async () => {
    for (const header of [
      'Bearer wrong',
      `Bearer ${STUB_TOKEN.slice(0, -1)}`,
      `Bearer ${STUB_TOKEN}x`,
      `Basic ${Buffer.from(`admin:${STUB_TOKEN}`).toString('base64')}`,
      `Bearer`,
    ]) {
      const r = await call(d, 'POST', '/v1/admin/freeze', { headers: { authorization: header } });
      expect(r.status, header).toBe(401);
      expect(r.headers['www-authenticate']).toBeDefined();
    }
    expect(d.calls).not.toContain('freeze');
  });

  it('POST /v1/admin/drain and undrain → 200 with what changed; idempotent', async () => {
    const r = await call(d, 'POST', '/v1/admin/drain', {
      headers: { ...auth, ...json },
      body: '{"region":"r3"}',
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ changed: true, overrides: { drained: ['r3'] } });
    const again = await call(d, 'POST', '/v1/admin/drain', {
      headers: { ...auth, ...json },
      body: '{"region":"r3"}',
    });
    expect(again.json().changed).toBe(false);
    const u = await call(d, 'POST', '/v1/admin/undrain', {
      headers: { ...auth, ...json },
      body: '{"region":"r3"}',
    });
    expect(u.status).toBe(200);
    expect(u.json()).toMatchObject({ changed: true, overrides: { drained: [] } });
  });

  it('the scheme is case-insensitive (RFC 7235)', async () => {
    const r = await call(d, 'POST', '/v1/admin/freeze', {
      headers: { authorization: `bearer ${STUB_TOKEN}` },
    });
    expect(r.status).toBe(200);
    await call(d, 'POST', '/v1/admin/unfreeze', { headers: auth });
  });

  it('POST /v1/admin/freeze and unfreeze with no body → 200', async () => {
    const f = await call(d, 'POST', '/v1/admin/freeze', { headers: auth });
    expect(f.status).toBe(200);
    expect(f.json()).toMatchObject({ changed: true, overrides: { frozen: true } });
    const u = await call(d, 'POST', '/v1/admin/unfreeze', { headers: auth });
    expect(u.json()).toMatchObject({ changed: true, overrides: { frozen: false } });
  });

  it('a handler refusing an unknown region → 404', async () => {
    const r = await call(d, 'POST', '/v1/admin/drain', {
      headers: { ...auth, ...json },
      body: '{"region":"r9"}',
    });
    expect(r.status).toBe(404);
    expect(r.json().error.code).toBe('ADMIN_REQUEST_INVALID');
    expect(r.json().error.message).toMatch(/unknown region "r9"/);
  });

  it('body that is not JSON → 400 naming the problem', async () => {
    const r = await call(d, 'POST', '/v1/admin/drain', {
      headers: { ...auth, ...json },
      body: '{region: r3',
    });
    expect(r.status).toBe(400);
    expect(r.json().error.message).toMatch(/not JSON/);
  });

  it('body of the wrong shape → 400 naming the field', async () => {
    const missing = await call(d, 'POST', '/v1/admin/drain', { headers: { ...auth, ...json }, body: '{}' });
    expect(missing.status).toBe(400);
    expect(missing.json().error.message).toMatch(/region/);
    const wrongType = await call(d, 'POST', '/v1/admin/failover', {
      headers: { ...auth, ...json },
      body: '{"to":"r2","force":"yes"}',
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.json().error.message).toMatch(/force/);
    const extra = await call(d, 'POST', '/v1/admin/freeze', {
      headers: { ...auth, ...json },
      body: '{"region":"r1"}',
    });
    expect(extra.status).toBe(400);
    expect(extra.json().error.message).toMatch(/region/);
  });

  it('body over 64 KiB → 413 (declared length and chunked)', async () => {
    const big = JSON.stringify({ region: 'x'.repeat(70 * 1024) });
    const r = await call(d, 'POST', '/v1/admin/drain', { headers: { ...auth, ...json }, body: big });
    expect(r.status).toBe(413);
    // Chunked (no Content-Length): the limit is enforced while reading.
    const chunked = await request(`${d.adminUrl}/v1/admin/drain`, {
      method: 'POST',
      headers: { ...auth, ...json },
      body: Readable.from(
        (async function* () {
          for (let i = 0; i < 20; i++) yield Buffer.alloc(8 * 1024, 0x20);
        })(),
      ),
    }).catch((e: Error) => e);
    if (!(chunked instanceof Error)) {
      expect(chunked.statusCode).toBe(413);
      await chunked.body.text();
    }
  });

  it('failover dry run → the plan, nothing applied', async () => {
    const r = await call(d, 'POST', '/v1/admin/failover', {
      headers: { ...auth, ...json },
      body: '{"to":"r2","dryRun":true}',
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ applied: false, dryRun: true, plan: { from: 'r1', to: 'r2' } });
    expect((await call(d, 'GET', '/v1/status')).json().main).toBe('r1');
  });

  it('failover to the current main → 200 "already" (the requested state), nothing applied', async () => {
    const r = await call(d, 'POST', '/v1/admin/failover', {
      headers: { ...auth, ...json },
      body: '{"to":"r1","reason":"check"}',
    });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({ applied: false, already: true });
    expect(r.json().message).toMatch(/already the main/);
  });

  it('failover or switchover without a reason → 400 naming the field', async () => {
    const before = d.calls.length;
    for (const path of ['/v1/admin/failover', '/v1/admin/switchover']) {
      const r = await call(d, 'POST', path, { headers: { ...auth, ...json }, body: '{"to":"r2"}' });
      expect(r.status, path).toBe(400);
      expect(r.json().error.message).toMatch(/"reason" is required/);
    }
    expect(d.calls.slice(before)).toEqual([]);
  });

  it('never writes the token to the log', async () => {
    await call(d, 'POST', '/v1/admin/freeze', { headers: { authorization: 'Bearer not-the-token' } });
    await call(d, 'POST', '/v1/admin/unfreeze', { headers: auth });
    const log = d.logLines.join('');
    expect(log).toContain('admin request applied');
    expect(log).toContain('admin-unauthorized');
    expect(log).not.toContain(STUB_TOKEN);
    expect(log).not.toContain('not-the-token');
  });

  it('survives a client that disconnects mid-body', async () => {
    const port = Number(new URL(d.adminUrl).port);
    await new Promise<void>((resolve) => {
      const s = connect(port, '127.0.0.1', () => {
        s.write(
          `POST /v1/admin/drain HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${STUB_TOKEN}\r\nContent-Length: 100\r\n\r\n{"re`,
        );
        setTimeout(() => {
          s.destroy();
          resolve();
        }, 50);
      });
    });
    expect((await call(d, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('server with no admin token configured', () => {
  let d: StubDaemon;
  beforeAll(async () => {
    d = await startStubDaemon({ token: undefined });
  });
  afterAll(async () => {
    await d.close();
  });

  it('admin API → 403 explaining how to enable it, even with a header', async () => {
    for (const headers of [{}, { authorization: 'Bearer anything' }] as Record<string, string>[]) {
      const r = await call(d, 'POST', '/v1/admin/freeze', { headers });
      expect(r.status).toBe(403);
      expect(r.json().error.message).toMatch(/disabled.*admin\.token or admin\.tokens/);
    }
    expect(d.calls).toEqual([]);
  });

  it('reads still work', async () => {
    expect((await call(d, 'GET', '/v1/status')).status).toBe(200);
  });
});
