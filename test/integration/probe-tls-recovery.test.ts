import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthTarget } from '../../src/health/targets.js';
import { type HealthChange, HealthTracker } from '../../src/health/tracker.js';
import { createHttpProbe } from '../../src/probe/http.js';
import { ProbeScheduler } from '../../src/probe/scheduler.js';
import type { ProbeResult } from '../../src/probe/types.js';
import { startHttpsServer, type TestHttpsServer } from '../support/http-fixtures.js';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures.js';

/**
 * Issue 8.6: a TLS failure must never wedge a probe. Against each kind of bad certificate the
 * real scheduler and health tracker must see the target go down within fall × interval, every
 * run failing as "tls" (not hanging into timeouts or skipped slots), and come back up once the
 * server's certificate is fixed. On undici 7 a wrong-name certificate used to leave the Client
 * with a phantom running request: the second run never settled and every later slot was skipped.
 */

const INTERVAL = 500;
const TIMEOUT = 400;
const RISE = 2;
const FALL = 3;

function healthTarget(id: string): HealthTarget {
  return {
    id,
    region: 'r1',
    component: 'gateway',
    name: id.split('.')[2] as string,
    componentId: 'r1.gateway',
    intervalMs: INTERVAL,
    timeoutMs: TIMEOUT,
    jitter: 0,
    rise: RISE,
    fall: FALL,
    minHealthy: 1,
    maxBodyBytes: 1_024,
  };
}

/** Resolves with the time (ms after `t0`) of the first target change to `to`, or rejects after `within`. */
function changeTo(changes: HealthChange[], to: 'up' | 'down', t0: number, within: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      const c = changes.find((x) => x.kind === 'target' && x.to === to);
      if (c) {
        clearInterval(poll);
        resolve(performance.now() - t0);
      } else if (performance.now() - t0 > within) {
        clearInterval(poll);
        reject(new Error(`target did not go ${to} within ${within} ms`));
      }
    }, 5);
  });
}

describe('TLS failures do not wedge the probe: down within fall × interval, up after the fix', () => {
  let f: TlsFixtures;
  beforeAll(() => {
    f = makeTlsFixtures();
  });
  afterAll(() => f?.cleanup());

  const cases = [
    {
      what: 'a certificate for another name',
      cert: () => f.wrongNameCert,
      key: () => f.wrongNameKey,
      detail: /ALTNAME/,
    },
    {
      what: 'an expired certificate',
      cert: () => f.expiredCert,
      key: () => f.expiredKey,
      detail: /CERT_HAS_EXPIRED/,
    },
    {
      what: 'a self-signed certificate',
      cert: () => f.selfSignedCert,
      key: () => f.selfSignedKey,
      detail: /SELF_SIGNED/,
    },
    {
      what: 'a certificate from an unknown CA',
      cert: () => f.unknownCaCert,
      key: () => f.unknownCaKey,
      detail: /UNABLE_TO_(GET_ISSUER|VERIFY_LEAF)/,
    },
  ];

  for (const c of cases)
    it(`${c.what}`, async () => {
      let server: TestHttpsServer | undefined;
      let scheduler: ProbeScheduler | undefined;
      try {
        server = await startHttpsServer({ cert: f.read(c.cert()), key: f.read(c.key()) }, (_req, res) =>
          res.end('ok'),
        );
        const id = 'r1.gateway.health';
        const changes: HealthChange[] = [];
        const results: ProbeResult[] = [];
        const tracker = new HealthTracker([healthTarget(id)], { onChange: (ch) => changes.push(ch) });
        scheduler = new ProbeScheduler({
          random: () => 0, // first run at start: the fall × interval bound is exact
          onResult: (tid, r) => {
            results.push(r);
            tracker.record(tid, r);
          },
        });
        scheduler.add({
          id,
          probe: createHttpProbe(
            {
              url: `${server.origin}/health`,
              method: 'GET',
              headers: {},
              expectStatus: [200],
              tls: { ca: f.caCert, insecureSkipVerify: false },
            },
            { timeoutMs: TIMEOUT, maxBodyBytes: 1_024 },
          ),
          intervalMs: INTERVAL,
          timeoutMs: TIMEOUT,
          jitter: 0,
        });
        const t0 = performance.now();
        scheduler.start();
        const downAt = await changeTo(changes, 'down', t0, FALL * INTERVAL);
        expect(downAt).toBeLessThanOrEqual(FALL * INTERVAL);
        // Every run failed on the certificate itself: none hung into a timeout, none was skipped.
        expect(results.length).toBeGreaterThanOrEqual(FALL);
        for (const r of results) {
          expect(r).toMatchObject({ ok: false, error: 'tls' });
          expect(r.detail).toMatch(c.detail);
        }

        // The certificate is renewed: the next handshakes present the good one.
        server.setSecureContext({ cert: f.read(f.serverCert), key: f.read(f.serverKey) });
        const fixedAt = performance.now();
        const upAfter = await changeTo(changes, 'up', fixedAt, (RISE + 1) * INTERVAL);
        expect(upAfter).toBeLessThanOrEqual((RISE + 1) * INTERVAL);
        expect(results.at(-1)).toMatchObject({ ok: true, status: 200 });
        expect(scheduler.counters.skippedOverlaps).toBe(0);
        expect(scheduler.counters.timeouts).toBe(0);
      } finally {
        await scheduler?.close();
        await server?.close();
      }
    });
});
