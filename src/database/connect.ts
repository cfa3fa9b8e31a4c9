import { readFileSync } from 'node:fs';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import type { DatabaseConfig, TlsConfig } from '../config/schema.js';
import { resolveSecret } from '../config/secrets.js';
import { type Clock, systemClock, withDeadline } from '../util/clock.js';

/**
 * Bounded connections for probes and promoters. Every operation opens its own connection and
 * ends it: probes run every few seconds and promotions are rare, and a pooled connection to a
 * server that just failed over is exactly the stale state we must not trust.
 */

export interface ConnectOptions {
  env?: NodeJS.ProcessEnv;
  /** Shown in pg_stat_activity / the process list, so our own sessions can be found (and spared). */
  applicationName?: string;
  /** Overrides the config's statement timeout for long waits (pg_promote, catch-up). */
  statementTimeoutMs?: number;
  /** Bounds the goodbye on close; the system clock by default. */
  clock?: Clock;
}

export const DEFAULT_PORT = { postgres: 5432, mysql: 3306, mariadb: 3306 } as const;

export function label(db: DatabaseConfig): string {
  return `${db.engine}://${db.host}:${db.port ?? DEFAULT_PORT[db.engine]}/${db.database}`;
}

/** The password, resolved at connect time so a rotated secret file is picked up. */
export function password(db: DatabaseConfig, env?: NodeJS.ProcessEnv): string | undefined {
  return db.password === undefined ? undefined : resolveSecret(db.password, env);
}

interface TlsOptions {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  servername?: string;
  rejectUnauthorized: boolean;
}

function tlsOptions(tls: TlsConfig): TlsOptions {
  return {
    ca: tls.ca ? readFileSync(tls.ca) : undefined,
    cert: tls.cert ? readFileSync(tls.cert) : undefined,
    key: tls.key ? readFileSync(tls.key) : undefined,
    servername: tls.serverName,
    rejectUnauthorized: !tls.insecureSkipVerify,
  };
}

/**
 * The drivers load on first use: a deployment with only PostgreSQL never loads mysql2 (and the
 * reverse), and a CLI command that talks to no database loads neither.
 */
let pgDriver: Promise<typeof pg> | undefined;
let mysqlDriver: Promise<typeof mysql> | undefined;
const loadPg = () => {
  pgDriver ??= import('pg').then((m) => m.default);
  return pgDriver;
};
const loadMysql = () => {
  mysqlDriver ??= import('mysql2/promise').then((m) => m.default);
  return mysqlDriver;
};

export async function connectPg(db: DatabaseConfig, opts: ConnectOptions = {}): Promise<pg.Client> {
  const stmt = opts.statementTimeoutMs ?? db.statementTimeout;
  const { Client } = await loadPg();
  const client = new Client({
    host: db.host,
    port: db.port ?? DEFAULT_PORT.postgres,
    user: db.user,
    password: password(db, opts.env),
    database: db.database,
    ssl: db.tls ? tlsOptions(db.tls) : false,
    connectionTimeoutMillis: db.connectTimeout,
    statement_timeout: stmt,
    // Client-side guard for when the server stops answering altogether.
    query_timeout: stmt + 1_000,
    application_name: opts.applicationName ?? 'switchyard',
  });
  // A server dying mid-session emits 'error' on the client; the pending query rejects anyway.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw e;
  }
  return client;
}

export async function withPg<T>(
  db: DatabaseConfig,
  opts: ConnectOptions,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const c = await connectPg(db, opts);
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

export async function connectMy(db: DatabaseConfig, opts: ConnectOptions = {}): Promise<mysql.Connection> {
  const driver = await loadMysql();
  const conn = await driver.createConnection({
    host: db.host,
    port: db.port ?? DEFAULT_PORT[db.engine],
    user: db.user,
    password: password(db, opts.env),
    database: db.database,
    ssl: db.tls ? tlsOptions(db.tls) : undefined,
    connectTimeout: db.connectTimeout,
    connectAttributes: { program_name: opts.applicationName ?? 'switchyard' },
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
  conn.on('error', () => {});
  return conn;
}

export async function withMy<T>(
  db: DatabaseConfig,
  opts: ConnectOptions,
  fn: (c: mysql.Connection) => Promise<T>,
): Promise<T> {
  const c = await connectMy(db, opts);
  try {
    return await fn(c);
  } finally {
    // end() waits for the server's goodbye; destroy() when it will not come.
    await withDeadline(opts.clock ?? systemClock, c.end(), 1_000, () => undefined).catch(() => {});
    c.destroy();
  }
}

/** Runs one MySQL statement with a client-side timeout; returns its rows. */
export async function myRows<R>(
  c: mysql.Connection,
  sql: string,
  values: unknown[] = [],
  timeoutMs = 5_000,
): Promise<R[]> {
  const [rows] = await c.query({ sql, values, timeout: timeoutMs });
  return (Array.isArray(rows) ? rows : []) as R[];
}
