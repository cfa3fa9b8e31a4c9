import type { DatabaseConfig } from '../config/schema.js';
import type { HealthTarget } from '../health/targets.js';
import { createHttpProbe } from '../probe/http.js';
import { createMysqlProbe } from '../probe/mysql.js';
import { createPostgresProbe } from '../probe/postgres.js';
import { createTcpProbe } from '../probe/tcp.js';
import type { DatabaseProbeResult, Probe, ProbeResult } from '../probe/types.js';
import type { Clock } from '../util/clock.js';

export type DatabaseProbeFactory = (
  target: HealthTarget,
  db: DatabaseConfig,
  clock: Clock,
) => Probe<DatabaseProbeResult>;

/** The real database probes, chosen by engine. */
export const sqlProbeFactory: DatabaseProbeFactory = (target, db, clock) =>
  db.engine === 'postgres'
    ? createPostgresProbe(db, { timeoutMs: target.timeoutMs, clock })
    : createMysqlProbe(db, { timeoutMs: target.timeoutMs, clock });

/** Builds the probe for one health target: HTTP or TCP for checks, SQL for databases. */
export function probeFor(
  target: HealthTarget,
  deps: { clock: Clock; databaseProbe: DatabaseProbeFactory },
): Probe<ProbeResult | DatabaseProbeResult> {
  if (target.database) return deps.databaseProbe(target, target.database, deps.clock);
  const check = target.check;
  if (check?.http)
    return createHttpProbe(check.http, {
      timeoutMs: target.timeoutMs,
      maxBodyBytes: check.http.maxBodyBytes ?? target.maxBodyBytes,
      clock: deps.clock,
    });
  if (check?.tcp) return createTcpProbe(check.tcp, { timeoutMs: target.timeoutMs, clock: deps.clock });
  throw new Error(`target ${target.id} has nothing to probe`);
}
