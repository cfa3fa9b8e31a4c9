import type { HealthTarget } from '../health/targets.js';
import { createHttpProbe } from '../probe/http.js';
import { createMysqlProbe } from '../probe/mysql.js';
import { createPostgresProbe } from '../probe/postgres.js';
import { createTcpProbe } from '../probe/tcp.js';
import type { DatabaseProbeResult, Probe, ProbeResult } from '../probe/types.js';
import type { Clock } from '../util/clock.js';
import { SwitchyardError } from '../util/errors.js';
import type { ProbeFactory } from './ports.js';

/** The real probes: HTTP or TCP for checks, PostgreSQL or MySQL/MariaDB for databases. */
export const realProbeFactory: ProbeFactory = (target, clock) => probeFor(target, clock);

export function probeFor(target: HealthTarget, clock: Clock): Probe<ProbeResult | DatabaseProbeResult> {
  const db = target.database;
  if (db)
    return db.engine === 'postgres'
      ? createPostgresProbe(db, { timeoutMs: target.timeoutMs, clock })
      : createMysqlProbe(db, { timeoutMs: target.timeoutMs, clock });
  const check = target.check;
  if (check?.http)
    return createHttpProbe(check.http, {
      timeoutMs: target.timeoutMs,
      maxBodyBytes: check.http.maxBodyBytes ?? target.maxBodyBytes,
      clock,
    });
  if (check?.tcp) return createTcpProbe(check.tcp, { timeoutMs: target.timeoutMs, clock });
  throw new SwitchyardError('CONFIG_INVALID', `${target.id}: a check needs exactly one of "http" or "tcp"`);
}
