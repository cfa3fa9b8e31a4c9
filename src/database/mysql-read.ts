import type mysql from 'mysql2/promise';
import { myRows } from './connect.js';
import {
  detectFlavor,
  type MyFlavor,
  type MyStatus,
  mapMyStatus,
  mapReplicaStatus,
  sqlFor,
  variablesSql,
} from './mysql-status.js';

/** Reads a MySQL/MariaDB server's status over an open connection (used by the probe and the promoter). */

export async function readFlavor(c: mysql.Connection, timeoutMs: number): Promise<MyFlavor> {
  const [v] = await myRows<{ version: string; comment: string }>(
    c,
    'SELECT VERSION() AS version, @@version_comment AS comment',
    [],
    timeoutMs,
  );
  return detectFlavor(v?.version ?? '', v?.comment ?? '');
}

export async function showReplicaStatus(
  c: mysql.Connection,
  flavor: MyFlavor,
  timeoutMs: number,
): Promise<Record<string, unknown> | undefined> {
  try {
    const [row] = await myRows<Record<string, unknown>>(c, sqlFor(flavor).showReplicaStatus, [], timeoutMs);
    return row;
  } catch (e) {
    // Servers older than MySQL 8.0.22 / MariaDB 10.5.1 know only SHOW SLAVE STATUS.
    if ((e as { code?: string }).code !== 'ER_PARSE_ERROR') throw e;
    const [row] = await myRows<Record<string, unknown>>(c, 'SHOW SLAVE STATUS', [], timeoutMs);
    return row;
  }
}

export async function readMyStatus(
  c: mysql.Connection,
  timeoutMs: number,
  flavor?: MyFlavor,
): Promise<MyStatus> {
  const f = flavor ?? (await readFlavor(c, timeoutMs));
  const [vars] = await myRows<{ read_only: unknown; super_read_only: unknown; gtid: unknown }>(
    c,
    variablesSql(f),
    [],
    timeoutMs,
  );
  const replica = mapReplicaStatus(await showReplicaStatus(c, f, timeoutMs));
  return mapMyStatus({
    flavor: f,
    readOnly: vars?.read_only,
    superReadOnly: vars?.super_read_only,
    gtid: vars?.gtid,
    replica,
  });
}
