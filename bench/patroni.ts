/**
 * Patroni 3 (Debian package) beside switchyard in bench/recovery.ts: a two-node Patroni cluster
 * of PostgreSQL 15 on loopback with a one-member etcd 3.4 as its DCS, all started here.
 * `kill -9` of the leader's Patroni and its postmaster (the node is lost) → the first successful
 * write on the other node. Patroni moves no DNS, so this is the database half only.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, chown, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import {
  account,
  freePort,
  removeDir,
  startServer,
  stopProcess,
  tail,
  tempDir,
  waitFor,
} from '../test/support/proc.js';

export interface PatroniTiming {
  name: string;
  ttl: number;
  loopWait: number;
  retryTimeout: number;
}

interface Node {
  name: string;
  pgPort: number;
  apiPort: number;
  dataDir: string;
  child?: ChildProcess;
}

const BIN = '/usr/lib/postgresql/15/bin';

async function query(port: number, sql: string): Promise<pg.QueryResultRow[]> {
  const c = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    connectionTimeoutMillis: 1000,
  });
  c.on('error', () => {});
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function role(n: Node): Promise<string | undefined> {
  const r = await fetch(`http://127.0.0.1:${n.apiPort}/patroni`, { signal: AbortSignal.timeout(1000) }).catch(
    () => undefined,
  );
  if (!r?.ok) return undefined;
  const j = (await r.json()) as { role?: string; state?: string; replication?: unknown[] };
  return `${j.role}/${j.state}`;
}

/** One run: fresh etcd + two Patroni nodes; returns ms from kill -9 of the leader to a write on the other. */
export async function patroniOnce(t: PatroniTiming): Promise<number> {
  const as = account('postgres');
  const root = await tempDir(`sy-patroni-${t.name}-`);
  await chown(root, as.uid, as.gid);
  await chmod(root, 0o755);
  const children: ChildProcess[] = [];
  try {
    const etcdClient = await freePort();
    const etcdPeer = await freePort();
    const etcd = startServer(
      '/usr/bin/etcd',
      [
        '--name',
        'bench',
        '--data-dir',
        join(root, 'etcd'),
        '--listen-client-urls',
        `http://127.0.0.1:${etcdClient}`,
        '--advertise-client-urls',
        `http://127.0.0.1:${etcdClient}`,
        '--listen-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-advertise-peer-urls',
        `http://127.0.0.1:${etcdPeer}`,
        '--initial-cluster',
        `bench=http://127.0.0.1:${etcdPeer}`,
      ],
      join(root, 'etcd.log'),
      as,
    );
    children.push(etcd);
    await waitFor(
      'etcd',
      async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`).catch(() => undefined))?.ok === true,
      20_000,
      100,
    );

    const nodes: Node[] = [];
    for (const name of ['n1', 'n2'])
      nodes.push({ name, pgPort: await freePort(), apiPort: await freePort(), dataDir: join(root, name) });
    for (const n of nodes) {
      const cfg = {
        scope: `bench-${t.name}`,
        name: n.name,
        restapi: { listen: `127.0.0.1:${n.apiPort}`, connect_address: `127.0.0.1:${n.apiPort}` },
        etcd3: { hosts: [`127.0.0.1:${etcdClient}`] },
        bootstrap: {
          dcs: {
            ttl: t.ttl,
            loop_wait: t.loopWait,
            retry_timeout: t.retryTimeout,
            maximum_lag_on_failover: 16 * 1_048_576,
            postgresql: { use_pg_rewind: false, parameters: { wal_level: 'replica', hot_standby: 'on' } },
          },
          initdb: [{ encoding: 'UTF8' }, { locale: 'C' }, 'no-sync'],
          pg_hba: [
            'local all all trust',
            'host replication all 127.0.0.1/32 trust',
            'host all all 127.0.0.1/32 trust',
          ],
        },
        postgresql: {
          listen: `127.0.0.1:${n.pgPort}`,
          connect_address: `127.0.0.1:${n.pgPort}`,
          data_dir: n.dataDir,
          bin_dir: BIN,
          pgpass: join(root, `${n.name}.pgpass`),
          authentication: { replication: { username: 'postgres' }, superuser: { username: 'postgres' } },
          parameters: {
            unix_socket_directories: root,
            fsync: 'off',
            synchronous_commit: 'off',
            shared_buffers: '16MB',
            max_connections: 40,
            wal_receiver_status_interval: '1s',
            wal_retrieve_retry_interval: '500ms',
          },
        },
      };
      const file = join(root, `${n.name}.yml`);
      await writeFile(file, stringify(cfg));
      await chown(file, as.uid, as.gid);
      n.child = startServer('/usr/bin/patroni', [file], join(root, `${n.name}.log`), as);
      children.push(n.child);
      // The first node bootstraps (initdb) before the second clones from it.
      if (n.name === 'n1')
        await waitFor('n1 leader', async () => (await role(n)) === 'master/running', 60_000, 200);
    }
    const [n1, n2] = nodes as [Node, Node];
    await waitFor('n2 streaming', async () => (await role(n2)) === 'replica/running', 60_000, 200);
    await query(n1.pgPort, 'CREATE TABLE bench (id serial PRIMARY KEY)');
    // "replica/running" does not mean streaming yet: wait until the table has reached n2.
    await waitFor(
      'n2 to replay the table',
      async () => (await query(n2.pgPort, "SELECT to_regclass('bench') IS NOT NULL AS ok"))[0]?.ok === true,
      60_000,
      100,
    );
    await new Promise((r) => setTimeout(r, Math.random() * t.loopWait * 1000));

    // The node is lost: its Patroni and its postmaster, both kill -9.
    const postmaster = Number(readFileSync(join(n1.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const t0 = performance.now();
    n1.child?.kill('SIGKILL');
    if (postmaster > 0) process.kill(postmaster, 'SIGKILL');
    const wrote = waitFor(
      'n2 to take writes',
      async () => {
        try {
          await query(n2.pgPort, 'INSERT INTO bench DEFAULT VALUES');
          return true;
        } catch {
          return false;
        }
      },
      180_000,
      50,
    );
    // On a timeout, say what n2's Patroni was doing: its log is removed with the run's directory.
    await wrote.catch(async (e: Error) => {
      throw new Error(`${e.message}; n2 is ${await role(n2)}; n2 log:\n${tail(join(root, 'n2.log'), 30)}`);
    });
    return performance.now() - t0;
  } finally {
    for (const c of children.reverse()) await stopProcess(c, 'SIGKILL', 2_000).catch(() => undefined);
    // Postmasters outlive a killed Patroni: end them by their own pid files.
    for (const n of ['n1', 'n2'])
      try {
        const pid = Number(readFileSync(join(root, n, 'postmaster.pid'), 'utf8').split('\n')[0]);
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        // not running
      }
    await removeDir(root);
  }
}
