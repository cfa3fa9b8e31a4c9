import { describe, expect, it } from 'vitest';
import {
  detectFlavor,
  MARIADB_SQL,
  MYSQL_SQL,
  mapMyStatus,
  mapReplicaStatus,
  sessionsToKill,
  sqlFor,
  variablesSql,
} from '../../src/database/mysql-status.js';

// MySQL 8 has no server on the test machines: its code paths are these pure functions.

const mysqlRow = {
  Replica_IO_State: 'Waiting for source to send event',
  Source_Host: '10.0.0.5',
  Source_Port: 3306,
  Source_Log_File: 'binlog.000012',
  Read_Source_Log_Pos: 9000,
  Relay_Source_Log_File: 'binlog.000012',
  Exec_Source_Log_Pos: 8200,
  Replica_IO_Running: 'Yes',
  Replica_SQL_Running: 'Yes',
  Seconds_Behind_Source: 3,
  Last_IO_Error: '',
  Last_SQL_Error: '',
  Retrieved_Gtid_Set: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,\n4a1b0c2d-0000-11e1-9e33-c80aa9429562:1-5',
  Executed_Gtid_Set: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-75,\n4a1b0c2d-0000-11e1-9e33-c80aa9429562:1-5',
};

const mariadbRow = {
  Slave_IO_State: 'Waiting for master to send event',
  Master_Host: '127.0.0.1',
  Master_Port: 43899,
  Master_Log_File: 'mysql-bin.000001',
  Read_Master_Log_Pos: 1441,
  Relay_Master_Log_File: 'mysql-bin.000001',
  Exec_Master_Log_Pos: 1441,
  Slave_IO_Running: 'Yes',
  Slave_SQL_Running: 'Yes',
  Seconds_Behind_Master: 0,
  Last_IO_Error: '',
  Last_SQL_Error: '',
  Using_Gtid: 'Slave_Pos',
  Gtid_IO_Pos: '0-1-7',
};

describe('engine detection', () => {
  it('tells MariaDB from MySQL by VERSION() or @@version_comment', () => {
    expect(detectFlavor('8.0.36', 'MySQL Community Server - GPL')).toBe('mysql');
    expect(detectFlavor('8.4.2-log', 'Source distribution')).toBe('mysql');
    expect(detectFlavor('10.11.19-MariaDB-0+deb12u1-log', 'Debian 12')).toBe('mariadb');
    expect(detectFlavor('5.5.5-10.11.6', 'mariadb.org binary distribution')).toBe('mariadb');
  });
});

describe('SHOW REPLICA STATUS mapping', () => {
  it('maps MySQL 8 column names (Replica_*, *_Source_*, GTID sets without newlines)', () => {
    expect(mapReplicaStatus(mysqlRow)).toEqual({
      sourceHost: '10.0.0.5',
      sourcePort: 3306,
      ioRunning: 'Yes',
      sqlRunning: 'Yes',
      secondsBehind: 3,
      retrievedGtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-77,4a1b0c2d-0000-11e1-9e33-c80aa9429562:1-5',
      executedGtid: '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-75,4a1b0c2d-0000-11e1-9e33-c80aa9429562:1-5',
      lagBytes: 800,
      lastIoError: '',
      lastSqlError: '',
    });
  });

  it('maps MariaDB column names (Slave_*, *_Master_*, Gtid_IO_Pos)', () => {
    expect(mapReplicaStatus(mariadbRow)).toMatchObject({
      sourceHost: '127.0.0.1',
      sourcePort: 43899,
      ioRunning: 'Yes',
      sqlRunning: 'Yes',
      secondsBehind: 0,
      retrievedGtid: '0-1-7',
      executedGtid: '',
      lagBytes: 0,
    });
  });

  it('treats NULL seconds as unknown, different binlog files as unknown bytes', () => {
    const r = mapReplicaStatus({
      ...mysqlRow,
      Replica_SQL_Running: 'No',
      Seconds_Behind_Source: null,
      Relay_Source_Log_File: 'binlog.000011',
      Last_SQL_Error: "Error 'Duplicate entry'",
    });
    expect(r).toMatchObject({
      sqlRunning: 'No',
      secondsBehind: null,
      lagBytes: null,
      lastSqlError: "Error 'Duplicate entry'",
    });
  });

  it('returns null without a configured source', () => {
    expect(mapReplicaStatus(undefined)).toBeNull();
    expect(mapReplicaStatus({ ...mariadbRow, Master_Host: '' })).toBeNull();
  });
});

describe('statements per engine', () => {
  it('uses REPLICA statements and super_read_only on MySQL', () => {
    expect(sqlFor('mysql')).toBe(MYSQL_SQL);
    expect(MYSQL_SQL).toMatchObject({
      showReplicaStatus: 'SHOW REPLICA STATUS',
      stopReplica: 'STOP REPLICA',
      stopReplicaIo: 'STOP REPLICA IO_THREAD',
      resetReplicaAll: 'RESET REPLICA ALL',
      readOnlyOn: ['SET GLOBAL super_read_only = ON'],
      // super_read_only must go off before read_only can.
      readOnlyOff: ['SET GLOBAL super_read_only = OFF', 'SET GLOBAL read_only = OFF'],
      primaryPositionVar: '@@GLOBAL.gtid_executed',
    });
    expect(MYSQL_SQL.gtidWait).toContain('WAIT_FOR_EXECUTED_GTID_SET(?, ?)');
    expect(MYSQL_SQL.gtidWaitDone(0)).toBe(true);
    expect(MYSQL_SQL.gtidWaitDone(1)).toBe(false);
    expect(variablesSql('mysql')).toContain('@@GLOBAL.super_read_only');
    expect(variablesSql('mysql')).toContain('@@GLOBAL.gtid_executed');
  });

  it('uses SLAVE statements, read_only and MASTER_GTID_WAIT on MariaDB', () => {
    expect(sqlFor('mariadb')).toBe(MARIADB_SQL);
    expect(MARIADB_SQL).toMatchObject({
      stopReplica: 'STOP SLAVE',
      resetReplicaAll: 'RESET SLAVE ALL',
      readOnlyOn: ['SET GLOBAL read_only = ON'],
      readOnlyOff: ['SET GLOBAL read_only = OFF'],
      primaryPositionVar: '@@GLOBAL.gtid_binlog_pos',
    });
    expect(MARIADB_SQL.gtidWait).toContain('MASTER_GTID_WAIT(?, ?)');
    expect(MARIADB_SQL.gtidWaitDone(0)).toBe(true);
    expect(MARIADB_SQL.gtidWaitDone(-1)).toBe(false);
    expect(variablesSql('mariadb')).not.toContain('@@GLOBAL.super_read_only');
    expect(variablesSql('mariadb')).toContain('@@GLOBAL.gtid_current_pos');
  });
});

describe('status mapping', () => {
  it('a MySQL primary with super_read_only is not writable', () => {
    const s = mapMyStatus({ flavor: 'mysql', readOnly: 1, superReadOnly: 1, gtid: 'abc:1-5', replica: null });
    expect(s).toMatchObject({
      engine: 'mysql',
      role: 'primary',
      writable: false,
      superReadOnly: true,
      position: 'abc:1-5',
    });
  });

  it('a replica reports streaming from the IO thread and lag 0 once everything received is applied', () => {
    const rep = mapReplicaStatus(mariadbRow);
    const s = mapMyStatus({ flavor: 'mariadb', readOnly: 1, superReadOnly: 0, gtid: '0-1-7', replica: rep });
    expect(s).toMatchObject({
      role: 'replica',
      streaming: true,
      lagSeconds: 0,
      lagBytes: 0,
      writable: false,
    });
    const behind = mapMyStatus({
      flavor: 'mysql',
      readOnly: 1,
      superReadOnly: 1,
      gtid: '',
      replica: mapReplicaStatus({ ...mysqlRow, Replica_IO_Running: 'Connecting' }),
    });
    expect(behind).toMatchObject({ streaming: false, lagSeconds: 3, lagBytes: 800 });
  });
});

describe('sessions a fence ends', () => {
  it('keeps our own session, binlog dump threads and system threads', () => {
    const rows = [
      { ID: 1, USER: 'system user', COMMAND: 'Slave_IO' },
      { ID: 2, USER: 'event_scheduler', COMMAND: 'Daemon' },
      { ID: 5, USER: 'repl', COMMAND: 'Binlog Dump' },
      { ID: 6, USER: 'repl', COMMAND: 'Binlog Dump GTID' },
      { ID: 7, USER: 'app', COMMAND: 'Query' },
      { ID: 8, USER: 'app', COMMAND: 'Sleep' },
      { ID: 9, USER: 'switchyard', COMMAND: 'Query' },
      { Id: 10, User: 'app', Command: 'Sleep' },
    ];
    expect(sessionsToKill(rows, 9)).toEqual([7, 8, 10]);
  });
});
