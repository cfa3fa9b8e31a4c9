import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCoord } from '../../src/coord/etcd.js';
import type { CoordPort } from '../../src/coord/types.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { type ContractEnv, portContract } from '../support/coord-contract.js';
import { EtcdCluster } from '../support/etcd-cluster.js';
import { sleep } from '../support/proc.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const CALL_TIMEOUT = 1_000;

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
  const port = new EtcdCoord({ endpoints, callTimeoutMs: CALL_TIMEOUT });
  opened.push(port);
  return port;
}

const etcdEnv = (): ContractEnv => ({
  client: () => client(),
  linked: async () => {
    const member = cluster.members[0];
    if (!member) throw new Error('no member');
    const proxy = new TcpProxy(member.clientPort);
    proxies.push(proxy);
    await proxy.start();
    const port = client([proxy.url]);
    return { port, cut: () => proxy.cut(), stall: () => proxy.stall(), restore: () => proxy.restore() };
  },
  wait: (ms) => sleep(ms),
  now: () => performance.now(),
  compact: async (rev) => {
    await cluster.etcdctl(['compaction', String(rev)]);
  },
  callTimeoutMs: CALL_TIMEOUT,
  slackMs: 600,
});

describe('coordination port contract: etcd 3.4, three members', () => {
  portContract(etcdEnv);
});

describe('etcd port: the cluster itself in trouble', () => {
  it('keeps answering with one member down, through the others', async () => {
    const port = client();
    await cluster.killMember(2);
    try {
      // If the killed member led the cluster, the others elect a new leader first.
      await cluster.waitHealthy();
      for (let i = 0; i < 10; i++) {
        const r = await port.txn({
          compare: [],
          success: [{ type: 'put', key: `/one-down/${i}`, value: 'v' }],
        });
        expect(r.succeeded).toBe(true);
      }
      expect((await port.getPrefix('/one-down/')).kvs).toHaveLength(10);
    } finally {
      await cluster.startMember(2);
    }
  });

  it('fails every call within its bound once quorum is lost, and works again when it is back', async () => {
    const port = client();
    await port.get('/quorum/x');
    await Promise.all([cluster.killMember(1), cluster.killMember(2)]);
    try {
      for (const call of [
        () => port.get('/quorum/x'),
        () => port.txn({ compare: [], success: [{ type: 'put', key: '/quorum/x', value: 'v' }] }),
        () => port.grantLease(5_000),
      ]) {
        const t0 = performance.now();
        const e = await call().then(
          () => null,
          (err: unknown) => err,
        );
        const took = performance.now() - t0;
        expect(isSwitchyardError(e, 'COORD_UNAVAILABLE'), String(e)).toBe(true);
        expect(took).toBeLessThanOrEqual(CALL_TIMEOUT + 400);
      }
    } finally {
      await Promise.all([cluster.startMember(1), cluster.startMember(2)]);
    }
    await cluster.waitHealthy();
    const end = performance.now() + 10_000;
    for (;;) {
      const ok = await port.get('/quorum/x').then(
        () => true,
        () => false,
      );
      if (ok) break;
      if (performance.now() > end) throw new Error('etcd did not answer again after quorum came back');
      await sleep(200);
    }
  });
});
