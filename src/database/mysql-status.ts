import type { DbStatus } from './types.js';

/**
 * Pure knowledge of the MySQL 8 / MariaDB 10.11 differences: engine detection, the two column
 * name sets of SHOW REPLICA STATUS, and which statement each engine needs. The I/O lives in
 * the probe and the promoter; this file is what the unit tests cover for MySQL, which has no
 * server on the test machines.
 */

export type MyFlavor = 'mysql' | 'mariadb';

export function detectFlavor(version: string, versionComment = ''): MyFlavor {
  return /mariadb/i.test(version) || /mariadb/i.test(versionComment) ? 'mariadb' : 'mysql';
}

export interface ReplicaStatus {
  sourceHost: string;
  sourcePort: number | null;
  /** 'Yes' | 'No' | 'Connecting' (as the server says it). */
  ioRunning: string;
  sqlRunning: string;
  secondsBehind: number | null;
  /** GTIDs the IO thread received: MySQL Retrieved_Gtid_Set, MariaDB Gtid_IO_Pos. */
  retrievedGtid: string;
  /** GTIDs applied: MySQL Executed_Gtid_Set; MariaDB reads @@gtid_slave_pos separately (''). */
  executedGtid: string;
  /** Received but not yet applied binlog bytes, when both positions are in the same source file. */
  lagBytes: number | null;
  lastIoError: string;
  lastSqlError: string;
}

type Row = Record<string, unknown>;

/** First present column among the alternatives (MySQL 8.0.22+ name first, the old name second). */
function col(row: Row, ...names: string[]): unknown {
  for (const n of names) if (row[n] !== undefined) return row[n];
  return undefined;
}
const str = (v: unknown): string => (v === null || v === undefined ? '' : String(v));
const num = (v: unknown): number | null => {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
};

/** Maps a SHOW REPLICA STATUS / SHOW SLAVE STATUS row of either engine; null when no source is configured. */
export function mapReplicaStatus(row: Row | undefined): ReplicaStatus | null {
  if (!row) return null;
  const sourceHost = str(col(row, 'Source_Host', 'Master_Host'));
  if (!sourceHost) return null;
  const readFile = str(col(row, 'Source_Log_File', 'Master_Log_File'));
  const execFile = str(col(row, 'Relay_Source_Log_File', 'Relay_Master_Log_File'));
  const readPos = num(col(row, 'Read_Source_Log_Pos', 'Read_Master_Log_Pos'));
  const execPos = num(col(row, 'Exec_Source_Log_Pos', 'Exec_Master_Log_Pos'));
  return {
    sourceHost,
    sourcePort: num(col(row, 'Source_Port', 'Master_Port')),
    ioRunning: str(col(row, 'Replica_IO_Running', 'Slave_IO_Running')) || 'No',
    sqlRunning: str(col(row, 'Replica_SQL_Running', 'Slave_SQL_Running')) || 'No',
    secondsBehind: num(col(row, 'Seconds_Behind_Source', 'Seconds_Behind_Master')),
    retrievedGtid: str(col(row, 'Retrieved_Gtid_Set', 'Gtid_IO_Pos')).replace(/\s+/g, ''),
    executedGtid: str(col(row, 'Executed_Gtid_Set')).replace(/\s+/g, ''),
    lagBytes:
      readFile && readFile === execFile && readPos !== null && execPos !== null
        ? Math.max(0, readPos - execPos)
        : null,
    lastIoError: str(col(row, 'Last_IO_Error')),
    lastSqlError: str(col(row, 'Last_SQL_Error')),
  };
}

/** The statements that differ between the two engines. */
export interface FlavorSql {
  showReplicaStatus: string;
  stopReplica: string;
  stopReplicaIo: string;
  resetReplicaAll: string;
  /** Fence: MySQL's super_read_only also stops SUPER accounts (and implies read_only). */
  readOnlyOn: string[];
  readOnlyOff: string[];
  /** The GTID set a fenced primary has written: what its replica must apply before promotion. */
  primaryPositionVar: string;
  /** SELECT returning one column `r`: waits until the GTID set is applied, bounded in seconds. */
  gtidWait: string;
  /** Is the gtidWait result a success? */
  gtidWaitDone(r: unknown): boolean;
}

export const MYSQL_SQL: FlavorSql = {
  showReplicaStatus: 'SHOW REPLICA STATUS',
  stopReplica: 'STOP REPLICA',
  stopReplicaIo: 'STOP REPLICA IO_THREAD',
  resetReplicaAll: 'RESET REPLICA ALL',
  readOnlyOn: ['SET GLOBAL super_read_only = ON'],
  readOnlyOff: ['SET GLOBAL super_read_only = OFF', 'SET GLOBAL read_only = OFF'],
  primaryPositionVar: '@@GLOBAL.gtid_executed',
  gtidWait: 'SELECT WAIT_FOR_EXECUTED_GTID_SET(?, ?) AS r',
  gtidWaitDone: (r) => Number(r) === 0,
};

export const MARIADB_SQL: FlavorSql = {
  // MariaDB accepts SHOW REPLICA STATUS since 10.5.1 but still names the columns Slave_*/Master_*.
  showReplicaStatus: 'SHOW REPLICA STATUS',
  stopReplica: 'STOP SLAVE',
  stopReplicaIo: 'STOP SLAVE IO_THREAD',
  resetReplicaAll: 'RESET SLAVE ALL',
  readOnlyOn: ['SET GLOBAL read_only = ON'],
  readOnlyOff: ['SET GLOBAL read_only = OFF'],
  primaryPositionVar: '@@GLOBAL.gtid_binlog_pos',
  gtidWait: 'SELECT MASTER_GTID_WAIT(?, ?) AS r',
  // 0 = reached, -1 = timed out.
  gtidWaitDone: (r) => Number(r) === 0,
};

export function sqlFor(flavor: MyFlavor): FlavorSql {
  return flavor === 'mysql' ? MYSQL_SQL : MARIADB_SQL;
}

/** The variables query after engine detection: read-only flags and the GTID position. */
export function variablesSql(flavor: MyFlavor): string {
  return flavor === 'mysql'
    ? 'SELECT @@GLOBAL.read_only AS read_only, @@GLOBAL.super_read_only AS super_read_only, @@GLOBAL.gtid_executed AS gtid'
    : 'SELECT @@GLOBAL.read_only AS read_only, 0 AS super_read_only, @@GLOBAL.gtid_current_pos AS gtid';
}

export interface MyStatus extends DbStatus {
  flavor: MyFlavor;
  readOnly?: boolean;
  superReadOnly?: boolean;
  replica?: ReplicaStatus | null;
}

export function mapMyStatus(input: {
  flavor: MyFlavor;
  readOnly: unknown;
  superReadOnly: unknown;
  gtid: unknown;
  replica: ReplicaStatus | null;
}): MyStatus {
  const readOnly = Number(input.readOnly) === 1;
  const superReadOnly = Number(input.superReadOnly) === 1;
  const writable = !readOnly && !superReadOnly;
  const rep = input.replica;
  const position = str(input.gtid).replace(/\s+/g, '');
  if (!rep) {
    return {
      engine: input.flavor,
      flavor: input.flavor,
      reachable: true,
      role: 'primary',
      writable,
      readOnly,
      superReadOnly,
      position,
      replica: null,
      detail: `primary${writable ? ', writable' : ', read-only'} at ${position || '(no GTID)'}`,
    };
  }
  const streaming = rep.ioRunning === 'Yes';
  const caughtUp = rep.sqlRunning === 'Yes' && rep.lagBytes === 0;
  const lagSeconds = caughtUp ? 0 : rep.secondsBehind;
  const errors = [rep.lastIoError, rep.lastSqlError].filter(Boolean).join('; ');
  return {
    engine: input.flavor,
    flavor: input.flavor,
    reachable: true,
    role: 'replica',
    writable,
    readOnly,
    superReadOnly,
    position,
    replica: rep,
    streaming,
    lagSeconds,
    lagBytes: rep.lagBytes,
    detail:
      `replica of ${rep.sourceHost}:${rep.sourcePort ?? '?'}, IO ${rep.ioRunning}, SQL ${rep.sqlRunning}, ` +
      `lag ${lagSeconds ?? '?'}s${errors ? `, ${errors}` : ''}`,
  };
}

/** Sessions a fence must end: every client but us and the replication/system threads. */
export function sessionsToKill(
  rows: Array<{
    ID?: unknown;
    Id?: unknown;
    USER?: unknown;
    User?: unknown;
    COMMAND?: unknown;
    Command?: unknown;
  }>,
  ownId: number,
): number[] {
  const out: number[] = [];
  for (const r of rows) {
    const id = Number(r.ID ?? r.Id);
    const user = str(r.USER ?? r.User);
    const command = str(r.COMMAND ?? r.Command);
    if (!Number.isFinite(id) || id === ownId) continue;
    // Binlog Dump (GTID) = a replica reading from us: keep it so the target can catch up.
    if (/^Binlog Dump/.test(command) || /^(Daemon|Slave_|Killed)/.test(command)) continue;
    if (user === 'system user' || user === 'event_scheduler' || user === 'unauthenticated user') continue;
    out.push(id);
  }
  return out;
}
