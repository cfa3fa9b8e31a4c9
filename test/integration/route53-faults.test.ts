import nock from 'nock';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDnsMetrics, type DnsMetrics } from '../../src/dns/metrics.js';
import { DnsReconciler, type ReconcileOutcome } from '../../src/dns/reconciler.js';
import { Route53DnsProvider } from '../../src/dns/route53.js';
import { systemClock } from '../../src/util/clock.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { liveSets, record } from '../support/route53-fixtures.js';

/** Faults the emulator cannot produce: malformed XML and connection resets, through nock. */

const ORIGIN = 'http://route53.nock.test';
const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const api = record('api.example.com', ['r1', 'r2']);

const zoneXml = `<?xml version="1.0"?><GetHostedZoneResponse xmlns="${NS}"><HostedZone><Id>/hostedzone/ZNOCK</Id><Name>example.com.</Name><CallerReference>x</CallerReference><ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone><DelegationSet><NameServers><NameServer>ns-1</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>`;
const listXml = `<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns="${NS}"><ResourceRecordSets>${liveSets(
  [api],
)
  .map(
    (s) =>
      `<ResourceRecordSet><Name>${s.name}.</Name><Type>A</Type><SetIdentifier>${s.setIdentifier}</SetIdentifier><Weight>${s.weight}</Weight><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>${s.values?.[0]}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>`,
  )
  .join(
    '',
  )}</ResourceRecordSets><IsTruncated>false</IsTruncated><MaxItems>300</MaxItems></ListResourceRecordSetsResponse>`;
const changeXml = `<?xml version="1.0"?><ChangeResourceRecordSetsResponse xmlns="${NS}"><ChangeInfo><Id>/change/CNOCK</Id><Status>PENDING</Status><SubmittedAt>2026-01-01T00:00:00.000Z</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`;

function provider(retry = { baseMs: 1, maxMs: 5 }) {
  const metrics = createDnsMetrics(new Registry());
  const p = new Route53DnsProvider(
    {
      hostedZoneId: 'ZNOCK',
      region: 'us-east-1',
      endpoint: ORIGIN,
      maxRequestsPerSecond: 100,
      pollInterval: 10,
      syncTimeout: 2_000,
      maxRetries: 2,
    },
    {
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK' },
      metrics,
      retry,
      // nock's replyWithError surfaces in the SDK as a connect timeout: keep it short.
      connectTimeoutMs: 200,
      requestTimeoutMs: 1_000,
    },
  );
  return { p, metrics };
}

beforeAll(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
});
afterAll(() => {
  nock.enableNetConnect();
  nock.restore();
});

describe('Route 53 provider under HTTP faults (nock)', () => {
  it('retries a malformed XML response and then reads', async () => {
    nock(ORIGIN).get('/2013-04-01/hostedzone/ZNOCK').reply(200, zoneXml);
    nock(ORIGIN)
      .get('/2013-04-01/hostedzone/ZNOCK/rrset')
      .query(true)
      .reply(200, '<ListResourceRecordSetsResponse><Resou');
    nock(ORIGIN).get('/2013-04-01/hostedzone/ZNOCK/rrset').query(true).reply(200, listXml);
    const { p, metrics } = provider();
    const sets = await p.read([api]);
    expect(sets.map((s) => [s.setIdentifier, s.weight])).toEqual([
      ['r1', 100],
      ['r2', 0],
    ]);
    const retries = (await metrics.retries.get()).values.find(
      (v) => v.labels.operation === 'ListResourceRecordSets',
    );
    expect(retries?.value).toBe(1);
    expect(nock.isDone()).toBe(true);
    await p.close();
  });

  it('retries a connection reset on a write (UPSERT is idempotent)', async () => {
    nock(ORIGIN)
      .post('/2013-04-01/hostedzone/ZNOCK/rrset')
      .replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    nock(ORIGIN).post('/2013-04-01/hostedzone/ZNOCK/rrset').reply(200, changeXml);
    nock(ORIGIN)
      .get('/2013-04-01/change/CNOCK')
      .reply(
        200,
        changeXml
          .replace('PENDING', 'INSYNC')
          .replaceAll('ChangeResourceRecordSetsResponse', 'GetChangeResponse'),
      );
    const { p } = provider();
    const result = await p.apply([{ ...liveSets([api])[1]!, weight: 100 }]);
    expect(result).toMatchObject({ changeId: 'CNOCK', writeCalls: 1 });
    expect((await result.insync)?.status).toBe('INSYNC');
    expect(nock.isDone()).toBe(true);
    await p.close();
  });

  it('gives up after maxRetries with DNS_UNAVAILABLE (the reconciler keeps retrying)', async () => {
    nock(ORIGIN)
      .get('/2013-04-01/hostedzone/ZNOCK')
      .times(3)
      .replyWithError({ code: 'ECONNRESET', message: 'reset' });
    const { p } = provider();
    const err = await p.read([api]).catch((e) => e);
    expect(isSwitchyardError(err, 'DNS_UNAVAILABLE')).toBe(true);
    expect(err.message).toContain('after 3 attempt(s)');
    expect(nock.isDone()).toBe(true);
    await p.close();
  });

  it("treats Route 53's native InvalidChangeBatch document as not retryable", async () => {
    const body = `<?xml version="1.0"?><InvalidChangeBatch xmlns="${NS}"><Messages><Message>Tried to create resource record set [name='api.example.com.', type='A', set-identifier='r2'] but it already exists</Message></Messages><RequestId>r</RequestId></InvalidChangeBatch>`;
    nock(ORIGIN).post('/2013-04-01/hostedzone/ZNOCK/rrset').reply(400, body);
    const { p } = provider();
    const err = await p.apply(liveSets([api])).catch((e) => e);
    expect(isSwitchyardError(err, 'DNS_INVALID_CHANGE')).toBe(true);
    expect(nock.isDone()).toBe(true);
    await p.close();
  });

  it('reports an INSYNC timeout without failing the write', async () => {
    nock(ORIGIN).post('/2013-04-01/hostedzone/ZNOCK/rrset').reply(200, changeXml);
    nock(ORIGIN)
      .get('/2013-04-01/change/CNOCK')
      .times(1_000)
      .reply(200, changeXml.replaceAll('ChangeResourceRecordSetsResponse', 'GetChangeResponse'));
    const { p } = provider();
    const result = await p.apply([{ ...liveSets([api])[1]!, weight: 100 }]);
    const report = await result.insync;
    expect(report?.status).toBe('timeout');
    expect(report?.propagationMs).toBeGreaterThanOrEqual(2_000);
    await p.close();
  });
});

async function gauge(metrics: DnsMetrics): Promise<number> {
  return (await metrics.apiFailing.get()).values[0]?.value ?? -1;
}

async function until(what: string, cond: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!(await cond())) {
    if (performance.now() > end) throw new Error(`not within ${ms}ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('a 400 that is not one of the documented permanent codes (issue 8.5)', () => {
  it.each([
    ['a plain-text body', 'text/plain', 'Bad Request'],
    [
      'an HTML error page (a proxy in the way)',
      'text/html',
      '<html><body><h1>400 Bad Request</h1></body></html>',
    ],
  ])(
    'with %s: backs off, retries, raises the alert, and clears it when an apply succeeds',
    async (_what, type, body) => {
      nock(ORIGIN).get('/2013-04-01/hostedzone/ZNOCK').reply(200, zoneXml);
      nock(ORIGIN).get('/2013-04-01/hostedzone/ZNOCK/rrset').query(true).times(2).reply(200, listXml);
      const posts: number[] = [];
      nock(ORIGIN)
        .post('/2013-04-01/hostedzone/ZNOCK/rrset')
        .times(3)
        .reply(() => {
          posts.push(performance.now());
          return [400, body, { 'content-type': type }];
        });
      nock(ORIGIN)
        .post('/2013-04-01/hostedzone/ZNOCK/rrset')
        .reply(() => {
          posts.push(performance.now());
          return [200, changeXml];
        });
      nock(ORIGIN)
        .get('/2013-04-01/change/CNOCK')
        .reply(
          200,
          changeXml
            .replace('PENDING', 'INSYNC')
            .replaceAll('ChangeResourceRecordSetsResponse', 'GetChangeResponse'),
        );
      const { p, metrics } = provider({ baseMs: 40, maxMs: 80 });
      const r = new DnsReconciler({
        provider: p,
        records: [api],
        logger: pino({ level: 'silent' }),
        metrics,
        clock: systemClock,
        options: {
          dryRun: false,
          createMissing: false,
          retry: { baseMs: 200, maxMs: 400 },
          random: () => 0.5,
        },
      });
      try {
        await r.start();
        let settled: { ok: boolean; value: unknown } | undefined;
        r.submit({ [api.key]: { r1: 0, r2: 100 } }).then(
          (value) => {
            settled = { ok: true, value };
          },
          (value) => {
            settled = { ok: false, value };
          },
        );
        await until(
          'the alert is raised',
          async () => (await gauge(metrics)) === 1 || settled !== undefined,
          3_000,
        );
        expect(settled).toBeUndefined(); // not refused as permanent
        expect(r.status()).toMatchObject({ failing: true, lastError: { code: 'DNS_UNAVAILABLE' } });
        expect(r.status().lastError?.message).toMatch(/after 3 attempt\(s\).*HTTP 400/);
        await until('the submit settles', () => settled !== undefined, 3_000);
        expect(settled).toMatchObject({ ok: true, value: { writeCalls: 1 } });
        expect((await (settled as unknown as { value: ReconcileOutcome }).value.insync)?.status).toBe(
          'INSYNC',
        );
        expect(await gauge(metrics)).toBe(0);
        expect(r.status().failing).toBe(false);
        // Backoff between every attempt: in the call (≥ 20 ms, ≥ 40 ms), then the reconciler's (≥ 150 ms).
        const gaps = posts.slice(1).map((t, i) => t - (posts[i] as number));
        expect(gaps[0]).toBeGreaterThanOrEqual(19);
        expect(gaps[1]).toBeGreaterThanOrEqual(39);
        expect(gaps[2]).toBeGreaterThanOrEqual(149);
        const retried = (await metrics.retries.get()).values.find(
          (v) => v.labels.operation === 'ChangeResourceRecordSets',
        );
        expect(retried?.value).toBe(2);
        expect(nock.isDone()).toBe(true);
      } finally {
        await r.close();
      }
    },
  );
});
