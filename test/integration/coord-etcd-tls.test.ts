import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdCoord, etcdOptionsFromConfig } from '../../src/coord/etcd.js';
import type { CoordPort, WatchEvent } from '../../src/coord/types.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { EtcdCluster } from '../support/etcd-cluster.js';
import { sleep } from '../support/proc.js';
import { makeTlsFixtures, type TlsFixtures } from '../support/tls-fixtures.js';

/**
 * The etcd port over TLS (CA, client certificate required by the server) with password
 * authentication and a role limited to the switchyard prefix, against a real etcd 3.4.
 */

let tls: TlsFixtures;
let cluster: EtcdCluster;
const opened: CoordPort[] = [];
const PASSWORD = 'sy-etcd-Pa55';

beforeAll(async () => {
  tls = makeTlsFixtures();
  cluster = await EtcdCluster.start({
    size: 1,
    tls: {
      ca: tls.caCert,
      cert: tls.serverCert,
      key: tls.serverKey,
      clientCert: tls.clientCert,
      clientKey: tls.clientKey,
      clientCertAuth: true,
    },
  });
  await cluster.etcdctl(['user', 'add', 'root', '--new-user-password=root-Pa55']);
  await cluster.etcdctl(['role', 'add', 'switchyard']);
  await cluster.etcdctl(['role', 'grant-permission', 'switchyard', '--prefix=true', 'readwrite', '/sy/']);
  await cluster.etcdctl(['user', 'add', 'switchyard', `--new-user-password=${PASSWORD}`]);
  await cluster.etcdctl(['user', 'grant-role', 'switchyard', 'switchyard']);
  await cluster.etcdctl(['auth', 'enable']);
});

afterAll(async () => {
  await Promise.all(opened.map((p) => p.close().catch(() => {})));
  await cluster?.stop();
  tls?.cleanup();
}, 30_000);

function client(password: string): CoordPort {
  const port = new EtcdCoord(
    etcdOptionsFromConfig(
      {
        endpoints: cluster.endpoints(),
        prefix: '/sy/',
        tls: { ca: tls.caCert, cert: tls.clientCert, key: tls.clientKey },
        username: 'switchyard',
        password: 'env:SY_TEST_ETCD_PASSWORD',
        leaseTtl: 10_000,
        callTimeout: 2_000,
      },
      { resolve: (ref) => (ref === 'env:SY_TEST_ETCD_PASSWORD' ? password : '') },
    ),
  );
  opened.push(port);
  return port;
}

describe('etcd port over TLS with a client certificate and password authentication', () => {
  it('reads, writes, leases and watches under the granted prefix', async () => {
    expect(cluster.endpoints()[0]).toMatch(/^https:\/\//);
    const port = client(PASSWORD);
    const events: WatchEvent[] = [];
    const watch = port.watchPrefix('/sy/', 0, (e) => events.push(e));
    const lease = await port.grantLease(5_000);
    const r = await port.txn({
      compare: [{ key: '/sy/leader', target: 'createRevision', op: '=', value: 0 }],
      success: [{ type: 'put', key: '/sy/leader', value: 'me', lease: lease.id }],
    });
    expect(r.succeeded).toBe(true);
    expect((await port.get('/sy/leader')).kv).toMatchObject({ value: 'me', lease: lease.id });
    expect(await port.keepAliveOnce(lease.id)).toEqual({ ttlMs: 5_000 });
    await port.revokeLease(lease.id);
    for (let i = 0; i < 50 && events.length < 2; i++) await sleep(50);
    expect(events.map((e) => e.type)).toEqual(['put', 'delete']);
    watch.cancel();
  });

  it('a wrong password or a key outside the role is refused with COORD_REJECTED (not retried as unavailable)', async () => {
    const wrong = client('not-the-password');
    const e1 = await wrong.get('/sy/leader').then(
      () => null,
      (e: unknown) => e,
    );
    expect(isSwitchyardError(e1, 'COORD_REJECTED'), String(e1)).toBe(true);
    expect((e1 as Error).message).toMatch(/authentication failed/);
    const right = client(PASSWORD);
    const e2 = await right
      .txn({ compare: [], success: [{ type: 'put', key: '/elsewhere/x', value: 'v' }] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(isSwitchyardError(e2, 'COORD_REJECTED'), String(e2)).toBe(true);
    expect((e2 as Error).message).toMatch(/permission denied/);
  });
});
