import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDnsMetrics, type DnsMetrics } from '../../src/dns/metrics.js';
import { DnsReconciler } from '../../src/dns/reconciler.js';
import { Route53DnsProvider } from '../../src/dns/route53.js';
import { type Clock, FakeClock, systemClock } from '../../src/util/clock.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { record } from '../support/route53-fixtures.js';
import { type SilentServer, startSilentServer } from '../support/silent-server.js';

/**
 * Issue 8.4: a Route 53 endpoint that accepts connections and never answers. The real AWS SDK
 * client, a real TCP server on 127.0.0.1. Every call must end within its bound, the DNS alert
 * must go up, retries must back off, and close() must return whatever the endpoint does.
 */

const api = record('api.example.com', ['r1', 'r2']);
const PENDING = Symbol('still pending');

/** Resolves to the promise's outcome, or to PENDING once `ms` of real time pass. */
function within<T>(ms: number, p: Promise<T>): Promise<T | typeof PENDING> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(PENDING), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        resolve(e as T);
      },
    );
  });
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`not within ${ms}ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function failing(metrics: DnsMetrics): Promise<number> {
  return (await metrics.apiFailing.get()).values[0]?.value ?? -1;
}

let server: SilentServer;
const cleanups: (() => Promise<unknown>)[] = [];
beforeEach(async () => {
  server = await startSilentServer();
});
afterEach(async () => {
  // Bounded even if the code under test hangs, so a regression fails instead of wedging the run.
  for (const c of cleanups.splice(0)) await within(2_000, c());
  await server.close();
});

function provider(opts: {
  clock?: Clock;
  maxRetries: number;
  requestTimeoutMs: number;
  metrics: DnsMetrics;
}) {
  const p = new Route53DnsProvider(
    {
      hostedZoneId: 'ZHANG',
      region: 'us-east-1',
      endpoint: server.endpoint,
      maxRequestsPerSecond: 100,
      pollInterval: 10,
      syncTimeout: 1_000,
      maxRetries: opts.maxRetries,
      requestTimeout: opts.requestTimeoutMs,
    },
    {
      credentials: { accessKeyId: 'AKIDHANG', secretAccessKey: 'hang-secret' },
      clock: opts.clock ?? systemClock,
      logger: pino({ level: 'silent' }),
      metrics: opts.metrics,
      random: () => 0.5,
      retry: { baseMs: 20, maxMs: 40 },
      requestTimeoutMs: opts.requestTimeoutMs,
      connectTimeoutMs: opts.requestTimeoutMs,
    },
  );
  cleanups.push(() => p.close());
  return p;
}

function reconciler(p: Route53DnsProvider, metrics: DnsMetrics, extra: Record<string, number> = {}) {
  const r = new DnsReconciler({
    provider: p,
    records: [api],
    logger: pino({ level: 'silent' }),
    metrics,
    clock: systemClock,
    options: {
      dryRun: false,
      createMissing: false,
      retry: { baseMs: 200, maxMs: 1_600 },
      random: () => 0.5,
      ...extra,
    },
  });
  cleanups.unshift(() => r.close());
  return r;
}

describe('Route 53 API that accepts and never answers (issue 8.4)', () => {
  it('each call fails within its per-call bound with a retryable DNS_UNAVAILABLE', async () => {
    const metrics = createDnsMetrics(new Registry());
    const p = provider({ maxRetries: 1, requestTimeoutMs: 300, metrics });
    const t0 = performance.now();
    const outcome = await within(5_000, p.read([api]));
    const took = performance.now() - t0;
    expect(outcome).not.toBe(PENDING);
    expect(isSwitchyardError(outcome, 'DNS_UNAVAILABLE')).toBe(true);
    expect((outcome as unknown as Error).message).toMatch(/after 2 attempt\(s\).*300ms/);
    // Two attempts of 300 ms plus one short backoff; nowhere near "for ever".
    expect(took).toBeGreaterThanOrEqual(550);
    expect(took).toBeLessThan(2_000);
    expect(server.arrivals).toHaveLength(2);
    // Each attempt was aborted: the client closed both connections.
    await until('both connections closed by the client', () => server.closedByClient() === 2, 1_000);
  });

  it('the per-call deadline runs on the injected clock and aborts the request', async () => {
    const clock = new FakeClock();
    const metrics = createDnsMetrics(new Registry());
    // The handler's own timeout is far away (60 s of real time): only the injected clock can end it.
    const p = provider({ clock, maxRetries: 0, requestTimeoutMs: 60_000, metrics });
    const read = within(5_000, p.read([api]));
    await until('the request reached the server', () => server.arrivals.length === 1, 2_000);
    await clock.advanceAsync(60_000);
    const outcome = await read;
    expect(outcome).not.toBe(PENDING);
    expect(isSwitchyardError(outcome, 'DNS_UNAVAILABLE')).toBe(true);
    await until('the aborted connection was closed', () => server.closedByClient() === 1, 1_000);
  });

  it('raises the alert, backs off between attempts, and close() returns promptly mid-call', async () => {
    const metrics = createDnsMetrics(new Registry());
    const p = provider({ maxRetries: 0, requestTimeoutMs: 300, metrics });
    const r = reconciler(p, metrics, { closeGraceMs: 200 });
    const first = within(10_000, r.start());
    await until(
      'the first attempt failed and raised the alert',
      async () => (await failing(metrics)) === 1,
      2_000,
    );
    expect(r.status().failing).toBe(true);
    expect(r.status().lastError?.code).toBe('DNS_UNAVAILABLE');
    await until('four attempts', () => server.arrivals.length >= 4, 6_000);
    // Attempt spacing = 300 ms timeout + backoff (150, 300, 600 ms with the pinned jitter): it grows.
    const gaps = server.arrivals.slice(1, 4).map((t, i) => t - (server.arrivals[i] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(400);
    expect(gaps[1]).toBeGreaterThan((gaps[0] as number) + 80);
    expect(gaps[2]).toBeGreaterThan((gaps[1] as number) + 150);
    expect(await failing(metrics)).toBe(1);

    // Close while an attempt hangs (or a backoff sleeps): bounded, and nothing is tried afterwards.
    await until('an attempt in flight', () => server.arrivals.length > server.closedByClient(), 2_000);
    const t0 = performance.now();
    expect(await within(2_000, r.close())).not.toBe(PENDING);
    expect(performance.now() - t0).toBeLessThan(1_000);
    const seen = server.arrivals.length;
    expect(await first).not.toBe(PENDING); // the start() waiter was released (rejected)
    await new Promise((res) => setTimeout(res, 700));
    expect(server.arrivals.length).toBe(seen);
  });

  it('a call that keeps retrying raises the alert once it has stalled, before it gives up', async () => {
    const metrics = createDnsMetrics(new Registry());
    // 20 in-call retries of 300 ms each: the call itself lasts several seconds.
    const p = provider({ maxRetries: 20, requestTimeoutMs: 300, metrics });
    const r = reconciler(p, metrics, { stallAfterMs: 500, closeGraceMs: 200 });
    void within(10_000, r.start());
    await until('the stalled call raised the alert', async () => (await failing(metrics)) === 1, 1_500);
    expect(r.status().failing).toBe(true);
    expect(r.status().consecutiveFailures).toBe(0); // not failed yet: stalled
    expect(r.status().lastError?.message).toMatch(/no answer/);
    const t0 = performance.now();
    expect(await within(2_000, r.close())).not.toBe(PENDING);
    expect(performance.now() - t0).toBeLessThan(1_000);
  });
});
