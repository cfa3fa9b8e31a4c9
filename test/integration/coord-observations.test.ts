import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCoord } from '../../src/coord/etcd.js';
import { ObservationPublisher, ObservationReader } from '../../src/coord/observations.js';
import type { CoordPort } from '../../src/coord/types.js';
import type { HealthView } from '../../src/decide/types.js';
import { combineViews } from '../../src/health/quorum.js';
import { systemClock } from '../../src/util/clock.js';
import { EtcdCluster } from '../support/etcd-cluster.js';
import { sleep } from '../support/proc.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** Three observers publishing to a real etcd; one is cut off and its view expires with its lease. */

const TTL = 2_000;
let cluster: EtcdCluster;
const opened: CoordPort[] = [];
const proxies: TcpProxy[] = [];

beforeAll(async () => {
  cluster = await EtcdCluster.start();
});

afterAll(async () => {
  await Promise.all(opened.map((p) => p.close().catch(() => {})));
  await Promise.all(proxies.map((p) => p.close()));
  await cluster?.stop();
}, 30_000);

function client(endpoints = cluster.endpoints()): CoordPort {
  const port = new EtcdCoord({ endpoints, callTimeoutMs: 500 });
  opened.push(port);
  return port;
}

/** What the observer in `region` sees: r1's gateway down from r3 (its link), up elsewhere. */
function seenFrom(region: string): HealthView {
  const now = systemClock.monotonic();
  const status = region === 'r3' ? 'down' : 'up';
  return {
    r1: { gateway: { status, since: now - 10_000, checkedAt: now - 100 } },
    r2: { gateway: { status: 'up', since: now - 10_000, checkedAt: now - 100 } },
  };
}

async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('observations on etcd 3.4, three members', () => {
  it('every live observer’s view is read; quorum outvotes one; a cut-off observer’s view expires with its lease; stop() removes at once', async () => {
    const prefix = '/obs/1/';
    const m0 = cluster.members[0];
    if (!m0) throw new Error('no member');
    const proxy = new TcpProxy(m0.clientPort);
    await proxy.start();
    proxies.push(proxy);
    const publishers = ['r1', 'r2', 'r3'].map(
      (region) =>
        new ObservationPublisher({
          coord: region === 'r3' ? client([proxy.url]) : client(),
          clock: systemClock,
          prefix,
          id: `obs-${region}`,
          region,
          ttlMs: TTL,
          view: () => seenFrom(region),
        }),
    );
    const reader = new ObservationReader({ coord: client(), clock: systemClock, prefix, retryMs: 200 });
    reader.start();
    for (const p of publishers) p.start();
    try {
      await until('three views', () => reader.observations().length === 3, 5_000);
      const ids = reader.observations().map((o) => o.observer.id);
      expect(ids).toEqual(['obs-r1', 'obs-r2', 'obs-r3']);
      const opts = {
        now: systemClock.monotonic(),
        staleAfterMs: 30_000,
        observerStaleAfterMs: 2 * TTL,
        panicThreshold: 0.5,
      };
      const q = combineViews(reader.views(), opts);
      expect(q.live).toHaveLength(3);
      // r3 sees r1 down (its own link), the two others see it up: outvoted.
      expect(q.view.r1?.gateway?.status).toBe('up');
      expect(q.votes.find((v) => v.key === 'r1.gateway')?.down).toEqual(['obs-r3']);
      // The views carry ages: r1's gateway has been up ~10 s in this process's frame too.
      const since = q.view.r1?.gateway?.since ?? 0;
      expect(systemClock.monotonic() - since).toBeGreaterThan(9_500);
      expect(systemClock.monotonic() - since).toBeLessThan(11_000);

      proxy.cut();
      const cutAt = performance.now();
      await until('the cut-off view to expire', () => reader.observations().length === 2, TTL + 2_000);
      expect(performance.now() - cutAt).toBeLessThanOrEqual(TTL + 1_000);
      expect(reader.observations().map((o) => o.observer.id)).toEqual(['obs-r1', 'obs-r2']);

      const t0 = performance.now();
      await publishers[1]?.stop();
      await until('the stopped view to go', () => reader.observations().length === 1, 2_000);
      expect(performance.now() - t0).toBeLessThan(TTL / 2);
    } finally {
      proxy.restore();
      await Promise.all(publishers.map((p) => p.stop()));
      reader.stop();
    }
  });
});
