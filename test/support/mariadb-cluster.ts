import type { ChildProcess } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { DatabaseConfig } from '../../src/config/schema.js';
import {
  bootOnFreePort,
  exited,
  removeDir,
  run,
  startServer,
  stopProcess,
  tail,
  tempDir,
  waitFor,
} from './proc.js';

/**
 * A real MariaDB primary and GTID replica on loopback, for integration tests. The data dir is
 * installed once and copied for the replica (faster than a second install); the replica then
 * replicates the primary's whole binlog from the start (users, schema), with MASTER_USE_GTID.
 * Servers run as root (`--user=root`) with `--no-defaults`, so the system MariaDB's option
 * files (port 3306, its socket) never leak in.
 */

export const MY_TEST_USER = 'switchyard';
export const MY_TEST_PASSWORD = 'sy-test-My55';
/** An application account without READ ONLY ADMIN: what read_only=ON actually stops. */
export const MY_APP_USER = 'app';
export const MY_APP_PASSWORD = 'app-test-pw';
export const MY_TEST_DATABASE = 'app';
const REPL_USER = 'repl';
const REPL_PASSWORD = 'repl-test-pw';

type Row = mysql.RowDataPacket;

export interface MyNode {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  socket: string;
  dataDir: string;
  logFile: string;
  serverId: number;
  config(overrides?: Partial<DatabaseConfig>): DatabaseConfig;
  /** SQL as root over the unix socket, fresh connection. */
  query<R = Row>(sql: string, params?: unknown[]): Promise<R[]>;
  /** SQL as the application account over TCP. */
  appQuery<R = Row>(sql: string, params?: unknown[]): Promise<R[]>;
  isRunning(): boolean;
  stop(): Promise<void>;
  kill(): Promise<void>;
  start(): Promise<void>;
}

export interface MyPair {
  primary: MyNode;
  replica: MyNode;
  /** The same node as `replica`, so PostgreSQL and MariaDB pairs share one handle shape. */
  standby: MyNode;
  dataDirs: { primary: string; replica: string };
  passwordFile: string;
  killPrimary(): Promise<void>;
  stop(): Promise<void>;
}

async function rows<R>(conn: mysql.Connection, sql: string, params?: unknown[]): Promise<R[]> {
  const [r] = await conn.query(sql, params);
  return (Array.isArray(r) ? r : []) as R[];
}

function makeNode(
  name: string,
  root: string,
  serverId: number,
  passwordFile: string,
): MyNode & { boot(): Promise<void> } {
  let child: ChildProcess | undefined;
  const dataDir = join(root, name);
  const socket = join(root, `${name}.sock`);
  const node = {
    name,
    host: '127.0.0.1',
    port: 0,
    user: MY_TEST_USER,
    password: MY_TEST_PASSWORD,
    database: MY_TEST_DATABASE,
    socket,
    dataDir,
    serverId,
    logFile: join(root, `${name}.log`),
    config(overrides: Partial<DatabaseConfig> = {}): DatabaseConfig {
      return {
        engine: 'mariadb',
        host: node.host,
        port: node.port,
        database: MY_TEST_DATABASE,
        user: MY_TEST_USER,
        password: `file:${passwordFile}`,
        connectTimeout: 3000,
        statementTimeout: 5000,
        heartbeatTable: 'switchyard_heartbeat',
        ...overrides,
      };
    },
    async query<R>(sql: string, params?: unknown[]): Promise<R[]> {
      const c = await mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 3000 });
      try {
        return await rows<R>(c, sql, params);
      } finally {
        await c.end().catch(() => c.destroy());
      }
    },
    async appQuery<R>(sql: string, params?: unknown[]): Promise<R[]> {
      const c = await mysql.createConnection({
        host: node.host,
        port: node.port,
        user: MY_APP_USER,
        password: MY_APP_PASSWORD,
        database: MY_TEST_DATABASE,
        connectTimeout: 3000,
      });
      try {
        return await rows<R>(c, sql, params);
      } finally {
        await c.end().catch(() => c.destroy());
      }
    },
    isRunning: () => child !== undefined && !exited(child),
    async stop() {
      if (child) await stopProcess(child, 'SIGTERM', 20_000);
    },
    async kill() {
      if (child) await stopProcess(child, 'SIGKILL');
    },
    async start() {
      if (node.isRunning()) return;
      child = startServer(
        'mariadbd',
        [
          '--no-defaults',
          `--datadir=${dataDir}`,
          `--port=${node.port}`,
          `--socket=${socket}`,
          `--pid-file=${join(root, `${name}.pid`)}`,
          '--bind-address=127.0.0.1',
          '--user=root',
          `--server-id=${serverId}`,
          '--log-bin=mysql-bin',
          '--log-slave-updates',
          '--gtid-strict-mode=1',
          '--binlog-format=ROW',
          '--skip-name-resolve',
          '--innodb-buffer-pool-size=16M',
          '--innodb-flush-log-at-trx-commit=0',
          '--sync-binlog=0',
          '--performance-schema=OFF',
          '--slave-net-timeout=5',
          `--tmpdir=${root}`,
          '--skip-log-error',
        ],
        node.logFile,
      );
      const c = child;
      await waitFor(
        `mariadbd ${name} on port ${node.port}`,
        async () => {
          if (exited(c)) throw new Error('exited');
          await node.query('SELECT 1');
          return true;
        },
        60_000,
        100,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${tail(node.logFile)}`);
      });
    },
    /** First start: a free port, retried when another process took it meanwhile. */
    boot: () => bootOnFreePort(node, /address already in use|Can't start server: Bind/i),
  };
  return node;
}

/**
 * One installed data dir, copied for every server of the pairs being started together:
 * mariadb-install-db is the slow step, and on a busy 2-core machine it has been seen to crash
 * in bootstrap (retried here). Removed once no start is using it any more.
 */
let template: Promise<string> | undefined;
let templateUsers = 0;

async function installTemplate(): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const dir = await tempDir('sy-my-template-');
    try {
      await run(
        'mariadb-install-db',
        [
          '--no-defaults',
          `--datadir=${join(dir, 'data')}`,
          '--auth-root-authentication-method=normal',
          '--user=root',
          '--skip-test-db',
          '--skip-name-resolve',
        ],
        { timeoutMs: 60_000 },
      );
      return dir;
    } catch (e) {
      await removeDir(dir);
      if (attempt >= 3) throw e;
    }
  }
}

async function withTemplate<T>(fn: (dataDir: string) => Promise<T>): Promise<T> {
  templateUsers++;
  template ??= installTemplate();
  const mine = template;
  try {
    return await fn(join(await mine, 'data'));
  } finally {
    if (--templateUsers === 0) {
      template = undefined;
      await mine.then(removeDir, () => {});
    }
  }
}

export async function startMariaDbPair(opts: { name?: string } = {}): Promise<MyPair> {
  const root = await tempDir(`sy-my-${opts.name ?? 'pair'}-`);
  const passwordFile = join(root, 'password');
  await writeFile(passwordFile, `${MY_TEST_PASSWORD}\n`, { mode: 0o600 });
  const primary = makeNode('primary', root, 1, passwordFile);
  const replica = makeNode('replica', root, 2, passwordFile);
  const pair: MyPair = {
    primary,
    replica,
    standby: replica,
    dataDirs: { primary: primary.dataDir, replica: replica.dataDir },
    passwordFile,
    killPrimary: () => primary.kill(),
    async stop() {
      await Promise.all([primary.kill(), replica.kill()]).catch(() => {});
      await removeDir(root);
    },
  };
  try {
    await withTemplate(async (data) => {
      await cp(data, primary.dataDir, { recursive: true });
      await cp(data, replica.dataDir, { recursive: true });
    });
    await Promise.all([primary.boot(), replica.boot()]);
    for (const sql of [
      `CREATE DATABASE ${MY_TEST_DATABASE}`,
      `CREATE USER '${MY_TEST_USER}'@'%' IDENTIFIED BY '${MY_TEST_PASSWORD}'`,
      `GRANT ALL PRIVILEGES ON *.* TO '${MY_TEST_USER}'@'%' WITH GRANT OPTION`,
      `CREATE USER '${MY_APP_USER}'@'%' IDENTIFIED BY '${MY_APP_PASSWORD}'`,
      `GRANT ALL PRIVILEGES ON ${MY_TEST_DATABASE}.* TO '${MY_APP_USER}'@'%'`,
      `CREATE USER '${REPL_USER}'@'%' IDENTIFIED BY '${REPL_PASSWORD}'`,
      `GRANT REPLICATION SLAVE ON *.* TO '${REPL_USER}'@'%'`,
    ])
      await primary.query(sql);
    await replica.query(
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port}, MASTER_USER='${REPL_USER}', ` +
        `MASTER_PASSWORD='${REPL_PASSWORD}', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1`,
    );
    await replica.query('SET GLOBAL read_only = ON');
    await replica.query('START SLAVE');
    await myWaitReplicated(pair);
    return pair;
  } catch (e) {
    await pair.stop().catch(() => {});
    throw e;
  }
}

/** Waits until the replica's IO and SQL threads run and it has applied the primary's binlog. */
export async function myWaitReplicated(pair: MyPair, timeoutMs = 20_000): Promise<void> {
  const [p] = await pair.primary.query<{ pos: string }>('SELECT @@gtid_binlog_pos AS pos');
  const pos = p?.pos ?? '';
  await waitFor(
    'replica caught up',
    async () => {
      const [s] = await pair.replica.query<Row>('SHOW SLAVE STATUS');
      if (s?.Slave_IO_Running !== 'Yes' || s.Slave_SQL_Running !== 'Yes') return false;
      const [w] = await pair.replica.query<{ r: number }>('SELECT MASTER_GTID_WAIT(?, 1) AS r', [pos]);
      return w?.r === 0;
    },
    timeoutMs,
    100,
  );
}
