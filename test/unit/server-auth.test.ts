import { Registry } from 'prom-client';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Spy on the comparison primitive to prove the admin check goes through it.
const spies = vi.hoisted(() => ({ timingSafeEqual: vi.fn() }));
vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  spies.timingSafeEqual.mockImplementation(real.timingSafeEqual);
  return { ...real, timingSafeEqual: spies.timingSafeEqual };
});

const { bearerToken, tokenMatches } = await import('../../src/server/auth.js');
const { createServer } = await import('../../src/server/http-server.js');
const { SwitchyardError } = await import('../../src/util/errors.js');

describe('tokenMatches', () => {
  afterEach(() => spies.timingSafeEqual.mockClear());

  it('accepts the exact token and nothing else', () => {
    expect(tokenMatches('abc123', 'abc123')).toBe(true);
    expect(tokenMatches('abc12', 'abc123')).toBe(false);
    expect(tokenMatches('abc1234', 'abc123')).toBe(false);
    expect(tokenMatches('', 'abc123')).toBe(false);
    expect(tokenMatches('', '')).toBe(false);
  });

  it('compares fixed-length digests with crypto.timingSafeEqual, whatever the input lengths', () => {
    tokenMatches('short', 'a-much-longer-expected-token');
    expect(spies.timingSafeEqual).toHaveBeenCalledTimes(1);
    const [a, b] = spies.timingSafeEqual.mock.calls[0] as [Buffer, Buffer];
    expect(a.length).toBe(32);
    expect(b.length).toBe(32);
  });
});

describe('bearerToken', () => {
  it('parses the Bearer scheme only', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer  abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});

describe('server error mapping and token source', () => {
  const failing = (e: unknown) => async () => {
    throw e;
  };
  const ok = async () => ({
    changed: true,
    message: 'ok',
    overrides: { drained: [], frozen: false, routes: {} },
  });

  async function start(adminToken: string | (() => string | undefined), freeze: () => Promise<unknown>) {
    const server = createServer({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      registry: new Registry(),
      adminToken,
      getStatus: failing(new Error('status exploded')) as never,
      getReadiness: () => ({ ready: true }),
      admin: {
        drain: ok,
        undrain: ok,
        freeze: freeze as never,
        unfreeze: ok,
        failover: failing(new Error('x')) as never,
        switchover: failing(new Error('x')) as never,
      },
    });
    const { port, admin } = await server.listen();
    return { server, url: `http://127.0.0.1:${admin?.port}`, readUrl: `http://127.0.0.1:${port}` };
  }

  it('an unexpected error → 500 with a generic message; a SwitchyardError → 500 with its code', async () => {
    const { server, url, readUrl } = await start(
      't',
      failing(new Error('connect to postgres://u:pw@db failed')),
    );
    const r = await request(`${url}/v1/admin/freeze`, {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
    });
    expect(r.statusCode).toBe(500);
    const body = (await r.body.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('INTERNAL');
    expect(body.error.message).not.toContain('pw');
    const s = await request(`${readUrl}/v1/status`);
    expect(s.statusCode).toBe(500);
    await s.body.text();
    await server.close();

    const again = await start(
      't',
      failing(new SwitchyardError('STATE_UNWRITABLE', 'state file x cannot be written: ENOSPC')),
    );
    const r2 = await request(`${again.url}/v1/admin/freeze`, {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
    });
    expect(r2.statusCode).toBe(500);
    expect(((await r2.body.json()) as { error: { code: string } }).error.code).toBe('STATE_UNWRITABLE');
    await again.server.close();
  });

  it('a plain ADMIN_REQUEST_INVALID SwitchyardError → 400', async () => {
    const { server, url } = await start('t', failing(new SwitchyardError('ADMIN_REQUEST_INVALID', 'nope')));
    const r = await request(`${url}/v1/admin/freeze`, {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
    });
    expect(r.statusCode).toBe(400);
    await r.body.text();
    await server.close();
  });

  it('reads the token through a function on every request (rotation)', async () => {
    let current: string | undefined = 'one';
    const { server, url } = await start(() => current, ok);
    const post = async (t: string) => {
      const r = await request(`${url}/v1/admin/freeze`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t}` },
      });
      await r.body.text();
      return r.statusCode;
    };
    expect(await post('one')).toBe(200);
    current = 'two';
    expect(await post('one')).toBe(401);
    expect(await post('two')).toBe(200);
    current = undefined;
    expect(await post('two')).toBe(403);
    await server.close();
  });

  it('close() cuts a request still running after the grace period', async () => {
    const { server, url } = await start('t', () => new Promise(() => undefined));
    const pending = request(`${url}/v1/admin/freeze`, {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
    }).catch((e: Error) => e);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await server.close(100);
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await pending).toBeInstanceOf(Error);
  });

  it('listen fails cleanly when the port is taken', async () => {
    const { server, url } = await start('t', ok);
    const port = new URL(url).port;
    const second = createServer({
      listen: `127.0.0.1:${port}`,
      registry: new Registry(),
      getStatus: failing(new Error()) as never,
      getReadiness: () => ({ ready: true }),
      admin: {
        drain: ok,
        undrain: ok,
        freeze: ok,
        unfreeze: ok,
        failover: ok as never,
        switchover: ok as never,
      },
    });
    await expect(second.listen()).rejects.toThrow(/EADDRINUSE/);
    await second.close();
    await server.close();
  });
});

describe('two listeners and named admin tokens', () => {
  const ok = async () => ({
    changed: true,
    message: 'ok',
    overrides: { drained: [], frozen: false, routes: {} },
  });
  const handlers = (seen: string[]) => ({
    drain: async (region: string, actor: { by: string; reason?: string }) => {
      seen.push(`${region} by ${actor.by}: ${actor.reason ?? '-'}`);
      return ok();
    },
    undrain: ok,
    freeze: ok,
    unfreeze: ok,
    failover: ok as never,
    switchover: ok as never,
  });

  it('the caller identity is the name of the matching token; each listener serves only its own paths', async () => {
    const seen: string[] = [];
    const server = createServer({
      listen: '127.0.0.1:0',
      adminListen: '127.0.0.1:0',
      registry: new Registry(),
      adminTokens: () => [
        { name: 'alice', token: 'alice-secret' },
        { name: 'bob', token: 'bob-secret' },
      ],
      getStatus: () => ({}) as never,
      getReadiness: () => ({ ready: true }),
      admin: handlers(seen) as never,
    });
    const { port, admin } = await server.listen();
    try {
      const post = async (base: number | undefined, token: string, body: unknown) => {
        const r = await request(`http://127.0.0.1:${base}/v1/admin/drain`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return { status: r.statusCode, body: (await r.body.json()) as { error?: { message: string } } };
      };
      expect((await post(admin?.port, 'bob-secret', { region: 'r3', reason: 'patching' })).status).toBe(200);
      expect((await post(admin?.port, 'alice-secret', { region: 'r4' })).status).toBe(200);
      expect((await post(admin?.port, 'carol-secret', { region: 'r4' })).status).toBe(401);
      expect(seen).toEqual(['r3 by bob: patching', 'r4 by alice: -']);
      // The read-only listener has no admin API, and says where it is.
      const onRead = await post(port, 'alice-secret', { region: 'r4' });
      expect(onRead.status).toBe(404);
      expect(onRead.body.error?.message).toContain('the admin API is on its own listener (admin.listen');
      // The admin listener serves no reads.
      const r = await request(`http://127.0.0.1:${admin?.port}/v1/status`);
      expect(r.statusCode).toBe(404);
      expect(await r.body.text()).toContain('reads are on the read-only listener');
      expect(seen).toHaveLength(2);
    } finally {
      await server.close();
    }
  });

  it('refuses a non-loopback admin listener without the explicit opt-in, naming the setting', () => {
    const make = (allow: boolean) =>
      createServer({
        listen: '127.0.0.1:0',
        adminListen: '0.0.0.0:0',
        adminAllowNonLoopback: allow,
        registry: new Registry(),
        getStatus: () => ({}) as never,
        getReadiness: () => ({ ready: true }),
        admin: handlers([]) as never,
      });
    expect(() => make(false)).toThrow(/admin\.listen: 0\.0\.0\.0:0 is not a loopback address/);
    try {
      make(false);
    } catch (e) {
      expect((e as InstanceType<typeof SwitchyardError>).details.join('\n')).toContain(
        'admin.allowNonLoopback: true',
      );
    }
    expect(() => make(true)).not.toThrow();
  });
});
