import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../src/dns/backoff.js';
import { TokenBucket } from '../../src/dns/rate-limiter.js';
import { changeSize, splitBatches, toUpsert } from '../../src/dns/route53-batch.js';
import { classifyRoute53Error, route53Messages } from '../../src/dns/route53-errors.js';
import { canonicalName, compareListing } from '../../src/dns/route53-names.js';
import { adoptLiveSets } from '../../src/dns/route53-records.js';
import { FakeClock } from '../../src/util/clock.js';
import { flush, liveSets, manyRecords, record } from '../support/route53-fixtures.js';

describe('Route 53 batching', () => {
  it('counts an UPSERT twice and splits 1,000 single-value changes at the 1,000-element limit', () => {
    const changes = liveSets(manyRecords(500, ['r1', 'r2'])).map(toUpsert);
    expect(changes).toHaveLength(1_000);
    expect(changeSize(changes[0]!)).toEqual({ elements: 2, chars: 2 * '192.0.2.1'.length });
    const batches = splitBatches(changes);
    expect(batches.map((b) => b.length)).toEqual([500, 500]);
  });

  it('keeps one batch when under the limits and never splits a record', () => {
    const changes = liveSets(manyRecords(9, ['r1', 'r2', 'r3'])).map(toUpsert);
    expect(splitBatches(changes)).toHaveLength(1);
    const small = splitBatches(changes, { elements: 10, chars: 32_000 });
    for (const b of small) expect(new Set(b.map((c) => c.ResourceRecordSet?.Name)).size).toBe(1);
    expect(small).toHaveLength(9);
  });

  it('splits on the 32,000-character limit', () => {
    const long = Array.from({ length: 10 }, (_, i) => `2001:db8::${'f'.repeat(20)}:${i}`);
    const recs = manyRecords(200, ['r1']).map((r) => ({
      ...r,
      targets: { r1: { weight: 1, setIdentifier: 'r1', values: long } },
    }));
    const changes = liveSets(recs).map(toUpsert);
    const batches = splitBatches(changes);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) {
      const chars = b.map(changeSize).reduce((n, s) => n + s.chars, 0);
      const elements = b.map(changeSize).reduce((n, s) => n + s.elements, 0);
      expect(chars).toBeLessThanOrEqual(32_000);
      expect(elements).toBeLessThanOrEqual(1_000);
    }
  });
});

describe('Route 53 names', () => {
  it('sorts as ListResourceRecordSets does: labels reversed', () => {
    const names = ['www.b.example.com', 'a.example.com', 'z.a.example.com', 'example.com', 'api.example.org'];
    expect([...names].sort(compareListing)).toEqual([
      'example.com',
      'a.example.com',
      'z.a.example.com',
      'www.b.example.com',
      'api.example.org',
    ]);
    expect(canonicalName('\\052.Example.COM.')).toBe('*.example.com');
  });
});

describe('Route 53 ownership', () => {
  const api = record('api.example.com', ['r1', 'r2']);
  it('adopts configured weighted sets and refuses non-weighted and unknown identifiers', () => {
    const { sets, refused } = adoptLiveSets(
      [api],
      [
        {
          Name: 'api.example.com.',
          Type: 'A',
          SetIdentifier: 'r1',
          Weight: 10,
          TTL: 60,
          ResourceRecords: [{ Value: '192.0.2.1' }],
        },
        {
          Name: 'api.example.com.',
          Type: 'A',
          SetIdentifier: 'canary',
          Weight: 1,
          TTL: 60,
          ResourceRecords: [{ Value: '10.0.0.1' }],
        },
        {
          Name: 'api.example.com.',
          Type: 'A',
          SetIdentifier: 'eu',
          Region: 'eu-west-1',
          TTL: 60,
          ResourceRecords: [{ Value: '10.0.0.2' }],
        },
        { Name: 'api.example.com.', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"v=1"' }] },
        { Name: 'other.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.3' }] },
      ],
    );
    expect(sets.map((s) => [s.region, s.weight])).toEqual([['r1', 10]]);
    expect(refused).toHaveLength(2);
    expect(refused[0]).toContain('"canary" is not named');
    expect(refused[1]).toContain('latency routing');
  });
});

describe('Route 53 error classification', () => {
  const err = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}) });
  it('retries throttling, 5xx and network errors, never InvalidChangeBatch', () => {
    expect(classifyRoute53Error(err('Throttling', 400))).toBe('throttled');
    expect(classifyRoute53Error(err('PriorRequestNotComplete', 400))).toBe('throttled');
    expect(classifyRoute53Error(err('ServiceUnavailable', 503))).toBe('transient');
    expect(classifyRoute53Error(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe('transient');
    expect(classifyRoute53Error(err('InvalidChangeBatch', 400))).toBe('invalid');
    expect(classifyRoute53Error(err('AccessDenied', 403))).toBe('fatal');
  });

  it('only the documented codes are permanent: an unknown 400 backs off (issue 8.5)', () => {
    expect(classifyRoute53Error(err('InvalidInput', 400))).toBe('invalid');
    // Route 53's own <InvalidChangeBatch> document reaches us as "Unknown" with its Messages.
    const native = Object.assign(err('Unknown', 400), {
      Messages: { Message: 'Tried to create … but it already exists' },
    });
    expect(classifyRoute53Error(native)).toBe('invalid');
    expect(route53Messages(native)).toEqual(['Tried to create … but it already exists']);
    expect(classifyRoute53Error(err('Unknown', 400))).toBe('transient'); // an HTML page from a proxy
    expect(classifyRoute53Error(err('Error', 400))).toBe('transient'); // a body that is not XML
    expect(classifyRoute53Error(err('SomeNewCode', 400))).toBe('transient');
    expect(classifyRoute53Error(err('TimeoutError'))).toBe('transient');
  });
});

describe('backoff and rate limiting', () => {
  it('backoff grows exponentially, is jittered, and is bounded', () => {
    const b = { baseMs: 100, maxMs: 1_000 };
    expect(backoffDelay(1, b, () => 0)).toBe(50);
    expect(backoffDelay(1, b, () => 1)).toBe(100);
    expect(backoffDelay(3, b, () => 1)).toBe(400);
    expect(backoffDelay(40, b, () => 1)).toBe(1_000);
    expect(backoffDelay(40, b, () => 0)).toBe(500);
  });

  it('the token bucket lets 5 requests through per second', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(5, clock);
    let done = 0;
    for (let i = 0; i < 12; i++) void bucket.acquire().then(() => done++);
    await flush();
    expect(done).toBe(5);
    for (let i = 0; i < 5; i++) {
      clock.advance(200);
      await flush();
    }
    expect(done).toBe(10);
    clock.advance(400);
    await flush();
    expect(done).toBe(12);
  });

  it('the token bucket runs on monotonic time: wall-clock steps neither stall nor burst it', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket(5, clock);
    let done = 0;
    for (let i = 0; i < 10; i++) void bucket.acquire().then(() => done++);
    await flush();
    expect(done).toBe(5);
    clock.stepWall(-20_000); // a step back would have made the bucket negative for 20 s
    clock.advance(200);
    await flush();
    expect(done).toBe(6);
    clock.stepWall(+600_000); // a step forward would have refilled a burst at once
    await flush();
    expect(done).toBe(6);
    clock.advance(800);
    await flush();
    expect(done).toBe(10);
  });
});
