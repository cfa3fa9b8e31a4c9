import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpCheckConfig, TlsConfig } from '../../src/config/schema.js';
import { createHttpProbe } from '../../src/probe/http.js';
import { startHttpsServer, type TestServer } from '../support/http-fixtures.js';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures.js';

const opts = { timeoutMs: 2_000, maxBodyBytes: 5_120 };

function check(url: string, tls?: Partial<TlsConfig>): HttpCheckConfig {
  return {
    url,
    method: 'GET',
    headers: {},
    expectStatus: [200],
    ...(tls ? { tls: { insecureSkipVerify: false, ...tls } } : {}),
  };
}

describe('HTTPS probe and certificates', () => {
  let f: TlsFixtures;
  let good: TestServer;
  let self: TestServer;
  let wrong: TestServer;
  let mtls: TestServer;

  beforeAll(async () => {
    f = makeTlsFixtures();
    const ok = (_req: unknown, res: { end(s: string): void }) => res.end('ok');
    good = await startHttpsServer({ cert: f.read(f.serverCert), key: f.read(f.serverKey) }, ok);
    self = await startHttpsServer({ cert: f.read(f.selfSignedCert), key: f.read(f.selfSignedKey) }, ok);
    wrong = await startHttpsServer({ cert: f.read(f.wrongNameCert), key: f.read(f.wrongNameKey) }, ok);
    mtls = await startHttpsServer(
      {
        cert: f.read(f.serverCert),
        key: f.read(f.serverKey),
        ca: f.read(f.caCert),
        requestCert: true,
        rejectUnauthorized: true,
      },
      ok,
    );
  });
  afterAll(async () => {
    await Promise.all([good, self, wrong, mtls].map((s) => s?.close()));
    f?.cleanup();
  });

  it('an untrusted self-signed certificate is error "tls"', async () => {
    const p = createHttpProbe(check(`${self.origin}/`), opts);
    const r = await p.run();
    await p.close();
    expect(r).toMatchObject({ ok: false, error: 'tls' });
    expect(r.detail).toMatch(/SELF_SIGNED|self.signed/i);
  });

  it('insecureSkipVerify accepts it', async () => {
    const p = createHttpProbe(check(`${self.origin}/`, { insecureSkipVerify: true }), opts);
    expect((await p.run()).ok).toBe(true);
    await p.close();
  });

  it('a certificate from a private CA is trusted through tls.ca', async () => {
    const untrusted = createHttpProbe(check(`${good.origin}/`), opts);
    expect(await untrusted.run()).toMatchObject({ ok: false, error: 'tls' });
    await untrusted.close();
    const p = createHttpProbe(check(`${good.origin}/`, { ca: f.caCert }), opts);
    expect(await p.run()).toMatchObject({ ok: true, status: 200 });
    await p.close();
  });

  it('serverName selects the name that is verified', async () => {
    const p = createHttpProbe(check(`${good.origin}/`, { ca: f.caCert, serverName: 'gw.test' }), opts);
    expect((await p.run()).ok).toBe(true);
    await p.close();
  });

  it('a certificate for another host name is error "tls"', async () => {
    const p = createHttpProbe(check(`${wrong.origin}/`, { ca: f.caCert }), opts);
    const r = await p.run();
    await p.close();
    expect(r).toMatchObject({ ok: false, error: 'tls' });
    expect(r.detail).toMatch(/ALTNAME|Hostname|IP/i);
  });

  it('a server requiring a client certificate refuses the probe without one and accepts it with one', async () => {
    const without = createHttpProbe(check(`${mtls.origin}/`, { ca: f.caCert }), opts);
    const r = await without.run();
    await without.close();
    expect(r.ok).toBe(false);
    // TLS 1.3 finishes the client's side of the handshake before the server checks the client
    // certificate, so the refusal arrives as the server closing the connection ("reset").
    expect(['tls', 'reset']).toContain(r.error);

    const withCert = createHttpProbe(
      check(`${mtls.origin}/`, { ca: f.caCert, cert: f.clientCert, key: f.clientKey }),
      opts,
    );
    expect(await withCert.run()).toMatchObject({ ok: true, status: 200 });
    await withCert.close();
  });

  it('an unreadable CA file is error "tls-config", not a throw', async () => {
    const p = createHttpProbe(check(`${good.origin}/`, { ca: `${f.dir}/missing.pem` }), opts);
    expect(await p.run()).toMatchObject({ ok: false, error: 'tls-config' });
    await p.close();
  });

  it('a client key that does not belong to its certificate is error "tls-config", not a throw', async () => {
    const p = createHttpProbe(
      check(`${mtls.origin}/`, { ca: f.caCert, cert: f.clientCert, key: f.serverKey }),
      opts,
    );
    const r = await p.run();
    await p.close();
    expect(r).toMatchObject({ ok: false, error: 'tls-config' });
    expect(r.detail).toMatch(/mismatch/i);
  });

  it('probes sharing a CA bundle share one TLS context and still verify (many targets, one trust store)', async () => {
    const probes = Array.from({ length: 5 }, () =>
      createHttpProbe(check(`${good.origin}/`, { ca: f.caCert }), opts),
    );
    for (const p of probes) expect(await p.run()).toMatchObject({ ok: true, status: 200 });
    const other = createHttpProbe(
      check(`${good.origin}/`, { ca: f.caCert, serverName: 'nomatch.test' }),
      opts,
    );
    expect(await other.run()).toMatchObject({ ok: false, error: 'tls' });
    await Promise.all([...probes, other].map((p) => p.close()));
  });

  it('a timeout keeps the TLS session: the reconnect resumes it instead of a full handshake', async () => {
    let slow = true;
    const reused: boolean[] = [];
    const s = await startHttpsServer({ cert: f.read(f.serverCert), key: f.read(f.serverKey) }, (req, res) => {
      reused.push((req.socket as import('node:tls').TLSSocket).isSessionReused());
      if (slow) {
        const t = setTimeout(() => res.end('late'), 1_000);
        res.on('close', () => clearTimeout(t));
      } else res.end('ok');
    });
    try {
      const p = createHttpProbe(check(`${s.origin}/`, { ca: f.caCert }), {
        timeoutMs: 300,
        maxBodyBytes: 1_024,
      });
      expect(await p.run()).toMatchObject({ ok: false, error: 'timeout' });
      slow = false;
      expect(await p.run()).toMatchObject({ ok: true, status: 200 });
      await p.close();
      expect(s.connections()).toBe(2); // the timed-out request's socket was dropped
      expect(reused).toEqual([false, true]); // and the new connection resumed the session
    } finally {
      await s.close();
    }
  });
});
