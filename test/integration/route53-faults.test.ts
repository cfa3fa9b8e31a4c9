import nock from 'nock';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDnsMetrics } from '../../src/dns/metrics.js';
import { Route53DnsProvider } from '../../src/dns/route53.js';
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

function provider() {
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
      retry: { baseMs: 1, maxMs: 5 },
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
