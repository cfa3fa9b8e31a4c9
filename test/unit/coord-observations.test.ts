import { describe, expect, it } from 'vitest';
import { MemoryCoordCluster } from '../../src/coord/memory.js';
import {
  ObservationPublisher,
  ObservationReader,
  parseObservation,
  toHealthView,
  toObservedRegions,
} from '../../src/coord/observations.js';
import type { HealthView } from '../../src/decide/types.js';
import { type Clock, FakeClock, type TimerHandle } from '../../src/util/clock.js';

const TTL = 3_000; // republish every 1 s
const PREFIX = '/sy/';

/** Another process's monotonic clock: same pace, different origin. */
class OffsetClock implements Clock {
  constructor(
    private readonly base: FakeClock,
    private readonly offset: number,
  ) {}
  monotonic(): number {
    return this.base.monotonic() + this.offset;
  }
  wall(): number {
    return this.base.wall();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.base.setTimeout(fn, ms);
  }
  clearTimeout(h: TimerHandle): void {
    this.base.clearTimeout(h);
  }
}

function setup() {
  const clock = new FakeClock();
  const cluster = new MemoryCoordCluster({ clock });
  const run = async (ms: number, step = 20) => {
    for (let t = 0; t < ms; t += step) await clock.advanceAsync(Math.min(step, ms - t));
  };
  return { clock, cluster, run };
}

/** A local view as the health tracker makes it: instants of the given clock. */
function localView(c: Clock, downFor = 5_000): HealthView {
  const now = c.monotonic();
  return {
    r1: {
      gateway: { status: 'down', since: now - downFor, checkedAt: now - 200, detail: '0/1 up' },
      databases: {
        apim: {
          status: 'up',
          since: now - 60_000,
          checkedAt: now - 100,
          role: 'primary',
          writable: true,
          lagSeconds: null,
        },
      },
    },
    r2: { gateway: { status: 'unknown', since: now } },
  };
}

describe('observation documents', () => {
  it('publish ages and read them back into another frame', () => {
    const view: HealthView = {
      r1: {
        gateway: { status: 'up', since: 1_000, checkedAt: 9_500 },
        keyManager: { status: 'unknown', since: 9_000 },
      },
    };
    const regions = toObservedRegions(view, 10_000);
    expect(regions).toEqual({
      r1: {
        gateway: { status: 'up', forMs: 9_000, checkedAgoMs: 500 },
        keyManager: { status: 'unknown', forMs: 1_000 },
      },
    });
    expect(toHealthView(regions, 500_000)).toEqual({
      r1: {
        gateway: { status: 'up', since: 491_000, checkedAt: 499_500 },
        keyManager: { status: 'unknown', since: 499_000 },
      },
    });
  });

  it('rejects what is not an observation document', () => {
    const good = {
      version: 1,
      observer: { id: 'a', region: 'r1' },
      seq: 1,
      publishedAt: 0,
      republishEveryMs: 1_000,
      leaseTtlMs: 3_000,
      regions: { r1: { gateway: { status: 'up', forMs: 1 } } },
    };
    expect(parseObservation(JSON.stringify(good))).toEqual(good);
    expect(parseObservation('not json')).toBeNull();
    expect(parseObservation(JSON.stringify({ ...good, version: 2 }))).toBeNull();
    expect(
      parseObservation(
        JSON.stringify({ ...good, regions: { r1: { gateway: { status: 'sideways', forMs: 1 } } } }),
      ),
    ).toBeNull();
    expect(
      parseObservation(
        JSON.stringify({ ...good, regions: { r1: { gateway: { status: 'up', forMs: -5 } } } }),
      ),
    ).toBeNull();
  });
});

describe('observation publisher and reader on the in-memory twin', () => {
  it('publishes ages under its own lease; a reader in another process converts them into its own clock', async () => {
    const { clock, cluster, run } = setup();
    const pubClock = new OffsetClock(clock, 7_000_000);
    const readerClock = new OffsetClock(clock, -3_000);
    const pub = new ObservationPublisher({
      coord: cluster.connect(),
      clock: pubClock,
      prefix: PREFIX,
      id: 'a',
      region: 'r1',
      ttlMs: TTL,
      view: () => localView(pubClock),
    });
    const reader = new ObservationReader({ coord: cluster.connect(), clock: readerClock, prefix: PREFIX });
    reader.start();
    await run(20);
    const publishedAt = readerClock.monotonic();
    pub.start();
    await run(20);
    const kv = cluster.dump(`${PREFIX}observers/`)[0];
    expect(kv?.key).toBe('/sy/observers/a');
    expect(kv?.lease).toBe(pub.status().lease);
    const [got] = reader.observations();
    expect(got?.fromRead).toBe(false);
    expect(got?.receivedAt).toBe(publishedAt);
    const [v] = reader.views();
    // Down for 5 s and checked 200 ms before publication, in the reader's frame.
    expect(v?.view.r1?.gateway).toEqual({
      status: 'down',
      since: (got?.receivedAt ?? 0) - 5_000,
      checkedAt: (got?.receivedAt ?? 0) - 200,
      detail: '0/1 up',
    });
    expect(v?.view.r1?.databases?.apim).toMatchObject({ role: 'primary', writable: true, lagSeconds: null });
    expect(v?.observer).toEqual({ id: 'a', region: 'r1' });
    await run(2_000);
    expect(pub.status().seq).toBe(3);
    expect(reader.views()[0]?.seq).toBe(3);
    const stopped = pub.stop();
    await run(20);
    await stopped;
    expect(reader.observations()).toEqual([]);
    reader.stop();
  });

  it('a dead observer’s view expires with its lease', async () => {
    const { clock, cluster, run } = setup();
    const port = cluster.connect({ callTimeoutMs: 300 });
    const pub = new ObservationPublisher({
      coord: port,
      clock,
      prefix: PREFIX,
      id: 'a',
      region: 'r1',
      ttlMs: TTL,
      view: () => localView(clock),
    });
    const reader = new ObservationReader({ coord: cluster.connect(), clock, prefix: PREFIX });
    pub.start();
    reader.start();
    await run(1_500);
    expect(reader.observations()).toHaveLength(1);
    port.setUnavailable('timeout');
    // Last renewal at 1000: the lease runs out at 4000.
    await run(2_400);
    expect(reader.observations()).toHaveLength(1);
    await run(200);
    expect(reader.observations()).toEqual([]);
    expect(pub.status().consecutiveFailures).toBeGreaterThan(0);
    // Back on the network, it publishes again on a fresh lease.
    port.setUnavailable(null);
    await run(1_500);
    expect(reader.observations()).toHaveLength(1);
    expect(pub.status().consecutiveFailures).toBe(0);
    const stopped = pub.stop();
    await run(20);
    await stopped;
    reader.stop();
  });

  it('a value found by reading counts as old as it could be; the next watch event is received now', async () => {
    const { clock, cluster, run } = setup();
    const pub = new ObservationPublisher({
      coord: cluster.connect(),
      clock,
      prefix: PREFIX,
      id: 'a',
      region: 'r1',
      ttlMs: TTL,
      view: () => localView(clock),
    });
    pub.start();
    await run(500);
    const reader = new ObservationReader({ coord: cluster.connect(), clock, prefix: PREFIX });
    reader.start();
    await run(20);
    const first = reader.observations()[0];
    expect(first?.fromRead).toBe(true);
    expect(first?.receivedAt).toBe(500 - (1_000 + TTL));
    await run(600);
    const second = reader.observations()[0];
    expect(second?.fromRead).toBe(false);
    expect(second?.receivedAt).toBe(1_000);
    const stopped = pub.stop();
    await run(20);
    await stopped;
    reader.stop();
  });

  it('re-reads and re-watches after a broken watch, keeping the arrival time of unchanged views', async () => {
    const { clock, cluster, run } = setup();
    const pub = new ObservationPublisher({
      coord: cluster.connect(),
      clock,
      prefix: PREFIX,
      id: 'a',
      region: 'r1',
      ttlMs: TTL,
      republishEveryMs: 60_000,
      view: () => localView(clock),
    });
    const reader = new ObservationReader({ coord: cluster.connect(), clock, prefix: PREFIX, retryMs: 100 });
    reader.start();
    await run(20);
    pub.start();
    await run(20);
    const before = reader.observations()[0];
    expect(before?.fromRead).toBe(false);
    cluster.breakWatches();
    await run(200);
    expect(reader.isSynced()).toBe(true);
    expect(reader.observations()[0]).toEqual(before);
    // And the new watch delivers.
    pub.publishNow();
    await run(20);
    expect(reader.observations()[0]?.doc.seq).toBe(2);
    const stopped = pub.stop();
    await run(20);
    await stopped;
    reader.stop();
  });

  it('ignores documents that are not observations, and counts them', async () => {
    const { cluster, clock, run } = setup();
    const port = cluster.connect();
    const reader = new ObservationReader({ coord: port, clock, prefix: PREFIX });
    reader.start();
    await run(20);
    await port.txn({
      compare: [],
      success: [{ type: 'put', key: '/sy/observers/x', value: '{"hello": 1}' }],
    });
    await run(20);
    expect(reader.observations()).toEqual([]);
    expect(reader.rejected).toBe(1);
    reader.stop();
  });

  it('starts over on a fresh lease when its lease is gone', async () => {
    const { clock, cluster, run } = setup();
    const pub = new ObservationPublisher({
      coord: cluster.connect(),
      clock,
      prefix: PREFIX,
      id: 'a',
      region: 'r1',
      ttlMs: TTL,
      view: () => localView(clock),
    });
    pub.start();
    await run(100);
    const first = pub.status().lease;
    cluster.expireLease(first ?? '');
    expect(cluster.dump('/sy/observers/')).toEqual([]);
    await run(1_100);
    expect(pub.status().lease).not.toBe(first);
    expect(cluster.dump('/sy/observers/')).toHaveLength(1);
    const stopped = pub.stop();
    await run(20);
    await stopped;
  });
});
