import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { DatabaseConfig } from '../../src/config/schema.js';
import {
  account,
  bootOnFreePort,
  exited,
  type RunAs,
  removeDir,
  run,
  sleep,
  startServer,
  stopProcess,
  tail,
  tempDir,
  waitFor,
} from './proc.js';

/**
 * A real PostgreSQL 15 primary with a streaming standby on loopback, for integration tests.
 * Everything lives in one temp dir owned by the `postgres` account (the server binaries refuse
 * to run as root); servers are spawned with that uid directly so the handle holds the
 * postmaster's own pid (killPrimary is a real `kill -9` of the postmaster).
 */

/** The server binaries: $SWITCHYARD_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian layout). */
function pgBin(): string {
  if (process.env.SWITCHYARD_PG_BIN) return process.env.SWITCHYARD_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  return join(root, versions[0] ?? '15', 'bin');
}
const BIN = pgBin();
export const PG_TEST_USER = 'switchyard';
export const PG_TEST_PASSWORD = 'sy-test-Pa55';
export const PG_TEST_DATABASE = 'app';

export interface PgNode {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  /** Directory of the unix socket (the harness's own admin path; trust auth). */
  socketDir: string;
  dataDir: string;
  logFile: string;
  /** The switchyard `database` config for this server (password by file: reference). */
  config(overrides?: Partial<DatabaseConfig>): DatabaseConfig;
  /** Runs SQL as the superuser over the unix socket on a fresh connection. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs SQL as the test role over TCP (password auth), as an application would. */
  appQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  isRunning(): boolean;
  /** Fast shutdown (SIGINT), waiting until the postmaster is gone. */
  stop(): Promise<void>;
  /** SIGKILL of the postmaster: the crash a failover is for. */
  kill(): Promise<void>;
  /** Starts the server again on the same port. */
  start(): Promise<void>;
}

export interface PgPair {
  primary: PgNode;
  standby: PgNode;
  dataDirs: { primary: string; standby: string };
  passwordFile: string;
  killPrimary(): Promise<void>;
  /** Stops both servers and removes every file; safe to call twice and after failures. */
  stop(): Promise<void>;
}

const BASE_CONF = [
  "listen_addresses = '127.0.0.1'",
  'shared_buffers = 16MB',
  'max_connections = 40',
  'fsync = off',
  'full_page_writes = off',
  'synchronous_commit = off',
  'wal_level = replica',
  'max_wal_senders = 5',
  'wal_keep_size = 64MB',
  'hot_standby = on',
  'wal_receiver_status_interval = 1s',
  'wal_retrieve_retry_interval = 500ms',
  'wal_log_hints = on', // lets pg_rewind rebuild a fenced old primary (docs/database.md)
  "log_min_messages = 'warning'",
  'dynamic_shared_memory_type = posix',
].join('\n');

const HBA = [
  'local all all trust',
  'local replication all trust',
  'host replication all 127.0.0.1/32 trust',
  'host all all 127.0.0.1/32 scram-sha-256',
].join('\n');

async function connectSocket(socketDir: string, port: number, database = 'postgres'): Promise<pg.Client> {
  const c = new pg.Client({
    host: socketDir,
    port,
    user: 'postgres',
    database,
    connectionTimeoutMillis: 3000,
  });
  c.on('error', () => {});
  await c.connect();
  return c;
}

function makeNode(
  name: string,
  root: string,
  passwordFile: string,
  as: RunAs,
): PgNode & { boot(): Promise<void> } {
  let child: ChildProcess | undefined;
  const dataDir = join(root, name);
  const node = {
    name,
    host: '127.0.0.1',
    port: 0,
    user: PG_TEST_USER,
    password: PG_TEST_PASSWORD,
    database: PG_TEST_DATABASE,
    socketDir: root,
    dataDir,
    logFile: join(root, `${name}.log`),
    config(overrides: Partial<DatabaseConfig> = {}): DatabaseConfig {
      return {
        engine: 'postgres',
        host: node.host,
        port: node.port,
        database: PG_TEST_DATABASE,
        user: PG_TEST_USER,
        password: `file:${passwordFile}`,
        connectTimeout: 3000,
        statementTimeout: 5000,
        heartbeatTable: 'switchyard_heartbeat',
        ...overrides,
      };
    },
    async query<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]> {
      const c = await connectSocket(root, node.port, PG_TEST_DATABASE);
      try {
        return (await c.query<R>(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
    async appQuery<R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]> {
      const c = new pg.Client({
        host: node.host,
        port: node.port,
        user: PG_TEST_USER,
        password: PG_TEST_PASSWORD,
        database: PG_TEST_DATABASE,
        connectionTimeoutMillis: 3000,
      });
      c.on('error', () => {});
      await c.connect();
      try {
        return (await c.query<R>(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
    isRunning: () => child !== undefined && !exited(child),
    async stop() {
      if (child) await stopProcess(child, 'SIGINT');
    },
    async kill() {
      if (child) await stopProcess(child, 'SIGKILL');
    },
    async start() {
      if (node.isRunning()) return;
      child = startServer(
        join(BIN, 'postgres'),
        ['-D', dataDir, '-p', String(node.port), '-k', root, '-c', 'listen_addresses=127.0.0.1'],
        node.logFile,
        as,
      );
      const c = child;
      await waitFor(
        `postgres ${name} on port ${node.port}`,
        async () => {
          if (exited(c)) throw new Error(`exited: ${tail(node.logFile)}`);
          const conn = await connectSocket(root, node.port);
          await conn.end();
          return true;
        },
        30_000,
        100,
      ).catch((e: Error) => {
        throw new Error(`${e.message}\n${tail(node.logFile)}`);
      });
    },
    /** First start: a free port, retried when another process took it meanwhile. */
    boot: () => bootOnFreePort(node, /could not (bind|create any TCP\/IP)|already in use/i),
  };
  return node;
}

export async function startPgPair(opts: { name?: string } = {}): Promise<PgPair> {
  const as = account('postgres');
  const root = await tempDir(`sy-pg-${opts.name ?? 'pair'}-`);
  await chown(root, as.uid, as.gid);
  await chmod(root, 0o755);
  const passwordFile = join(root, 'password');
  await writeFile(passwordFile, `${PG_TEST_PASSWORD}\n`, { mode: 0o600 });
  const primary = makeNode('primary', root, passwordFile, as);
  const standby = makeNode('standby', root, passwordFile, as);
  const pair: PgPair = {
    primary,
    standby,
    dataDirs: { primary: primary.dataDir, standby: standby.dataDir },
    passwordFile,
    killPrimary: () => primary.kill(),
    async stop() {
      // Teardown needs no clean shutdown: the data directories are removed right after.
      await Promise.all([primary.kill(), standby.kill()]).catch(() => {});
      await removeDir(root);
    },
  };
  try {
    await run(
      join(BIN, 'initdb'),
      [
        '-D',
        primary.dataDir,
        '-U',
        'postgres',
        '--auth=trust',
        '--no-sync',
        '--no-instructions',
        '-E',
        'UTF8',
        '--locale=C',
      ],
      { as },
    );
    const conf = join(primary.dataDir, 'postgresql.conf');
    await writeFile(conf, `${await readFile(conf, 'utf8')}\n${BASE_CONF}\n`);
    await writeFile(join(primary.dataDir, 'pg_hba.conf'), `${HBA}\n`);
    await primary.boot();
    const admin = await connectSocket(root, primary.port);
    try {
      await admin.query(`CREATE ROLE ${PG_TEST_USER} LOGIN SUPERUSER PASSWORD '${PG_TEST_PASSWORD}'`);
      await admin.query(`CREATE DATABASE ${PG_TEST_DATABASE} OWNER ${PG_TEST_USER}`);
    } finally {
      await admin.end();
    }
    await baseBackupInto(standby, primary);
    await standby.boot();
    await waitStreaming(standby, primary);
    return pair;
  } catch (e) {
    await pair.stop().catch(() => {});
    throw e;
  }
}

/**
 * Waits until the standby has replayed everything the primary has written so far. A WAL message
 * marks "now": its end LSN is comparable with the replay LSN (pg_current_wal_lsn() may lag behind
 * async commits still in WAL buffers).
 */
export async function pgWaitReplayed(pair: PgPair, timeoutMs = 15_000): Promise<void> {
  const [row] = await pair.primary.query<{ lsn: string }>(
    "SELECT pg_logical_emit_message(false, 'switchyard-test', 'mark')::text AS lsn",
  );
  const lsn = row?.lsn;
  await waitFor(
    'standby replay',
    async () => {
      const r = await pair.standby.query<{ done: boolean }>(
        'SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn) >= 0 AS done',
        [lsn],
      );
      return r[0]?.done === true;
    },
    timeoutMs,
    50,
  );
}

/**
 * Rebuilds `node` (an old primary, fenced after a failover) as a streaming standby of `from`
 * (the new primary), as an operator would: stop it, take a fresh base backup of the new primary
 * into its data directory (`-R` writes standby.signal and primary_conninfo), start it on its own
 * port, and wait until it streams.
 */
export async function pgRebuildAsStandby(node: PgNode, from: PgNode): Promise<void> {
  await node.stop();
  await rm(node.dataDir, { recursive: true, force: true });
  await baseBackupInto(node, from);
  await node.start();
  await waitStreaming(node, from);
}

/** A base backup of `from` into `node`'s (new, empty) data directory, set up as its standby (`-R`). */
async function baseBackupInto(node: PgNode, from: PgNode): Promise<void> {
  const as = account('postgres');
  await mkdir(node.dataDir, { mode: 0o700 });
  await chown(node.dataDir, as.uid, as.gid);
  await run(
    join(BIN, 'pg_basebackup'),
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(from.port),
      '-U',
      'postgres',
      '-D',
      node.dataDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
      '--no-sync',
    ],
    { as },
  );
}

async function waitStreaming(node: PgNode, from: PgNode): Promise<void> {
  await waitFor(`${node.name} streaming from ${from.name}`, async () => {
    const rows = await node.query<{ status: string }>('SELECT status FROM pg_stat_wal_receiver');
    return rows[0]?.status === 'streaming';
  });
}

export { sleep };
