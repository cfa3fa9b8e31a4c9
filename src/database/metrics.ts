import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { FenceResult, PromoteResult } from './types.js';

/**
 * Database promotion metrics. Outcomes are a closed set (success | failure) so label values stay
 * bounded; failure reasons belong in logs. The replication lag gauges share their names with
 * the daemon's health metrics (src/metrics.ts): when the registry already has them they are
 * reused rather than registered twice.
 */

export type Outcome = 'success' | 'failure';
const OUTCOMES: readonly Outcome[] = ['success', 'failure'];

export interface DatabaseMetrics {
  promotions: Counter<'region' | 'database' | 'outcome'>;
  fences: Counter<'region' | 'database' | 'outcome'>;
  promotionDuration: Histogram<'region' | 'database'>;
  fenceDuration: Histogram<'region' | 'database'>;
  lagAtPromotionSeconds: Gauge<'region' | 'database'>;
  lagAtPromotionBytes: Gauge<'region' | 'database'>;
  replicationLagSeconds: Gauge<'region' | 'database'>;
  replicationLagBytes: Gauge<'region' | 'database'>;
  /** Initialises every outcome of a database to 0, so rates and alerts see the series from the start. */
  init(region: string, database: string): void;
  recordPromotion(region: string, database: string, r: PromoteResult): void;
  recordFence(region: string, database: string, r: FenceResult): void;
  recordLag(
    region: string,
    database: string,
    s: { lagSeconds?: number | null; lagBytes?: number | null },
  ): void;
}

function gauge(registry: Registry, name: string, help: string): Gauge<'region' | 'database'> {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Gauge) return existing as Gauge<'region' | 'database'>;
  return new Gauge({ name, help, labelNames: ['region', 'database'] as const, registers: [registry] });
}

export function createDatabaseMetrics(registry: Registry): DatabaseMetrics {
  const registers = [registry];
  const labelNames = ['region', 'database'] as const;
  const promotions = new Counter({
    name: 'switchyard_database_promotions_total',
    help: 'Database promotions by outcome (success = writable and verified by a heartbeat write).',
    labelNames: ['region', 'database', 'outcome'] as const,
    registers,
  });
  const fences = new Counter({
    name: 'switchyard_database_fences_total',
    help: 'Database fences by outcome.',
    labelNames: ['region', 'database', 'outcome'] as const,
    registers,
  });
  const promotionDuration = new Histogram({
    name: 'switchyard_database_promotion_duration_seconds',
    help: 'Duration of database promotions, including verification.',
    labelNames,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120],
    registers,
  });
  const fenceDuration = new Histogram({
    name: 'switchyard_database_fence_duration_seconds',
    help: 'Duration of database fences, including any hard-fence command.',
    labelNames,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers,
  });
  const lagAtPromotionSeconds = new Gauge({
    name: 'switchyard_database_lag_at_promotion_seconds',
    help: 'Replication lag of the replica just before its last promotion (RPO evidence).',
    labelNames,
    registers,
  });
  const lagAtPromotionBytes = new Gauge({
    name: 'switchyard_database_lag_at_promotion_bytes',
    help: 'Received but unapplied replication data just before the last promotion.',
    labelNames,
    registers,
  });
  const replicationLagSeconds = gauge(
    registry,
    'switchyard_replication_lag_seconds',
    'Replication lag of a replica database, in seconds; absent while unknown.',
  );
  const replicationLagBytes = gauge(
    registry,
    'switchyard_replication_lag_bytes',
    'Replication lag of a replica database, in bytes; absent while unknown.',
  );
  const setOrRemove = (
    g: Gauge<'region' | 'database'>,
    labels: { region: string; database: string },
    v: unknown,
  ) => {
    if (typeof v === 'number' && Number.isFinite(v)) g.set(labels, v);
    else g.remove(labels);
  };
  return {
    promotions,
    fences,
    promotionDuration,
    fenceDuration,
    lagAtPromotionSeconds,
    lagAtPromotionBytes,
    replicationLagSeconds,
    replicationLagBytes,
    init(region, database) {
      for (const outcome of OUTCOMES) {
        promotions.inc({ region, database, outcome }, 0);
        fences.inc({ region, database, outcome }, 0);
      }
    },
    recordPromotion(region, database, r) {
      const labels = { region, database };
      promotions.inc({ ...labels, outcome: r.ok ? 'success' : 'failure' });
      promotionDuration.observe(labels, r.durationMs / 1000);
      if (r.lagAtPromotion) {
        setOrRemove(lagAtPromotionSeconds, labels, r.lagAtPromotion.seconds);
        setOrRemove(lagAtPromotionBytes, labels, r.lagAtPromotion.bytes);
      }
    },
    recordFence(region, database, r) {
      const labels = { region, database };
      fences.inc({ ...labels, outcome: r.ok ? 'success' : 'failure' });
      fenceDuration.observe(labels, r.durationMs / 1000);
    },
    recordLag(region, database, s) {
      const labels = { region, database };
      setOrRemove(replicationLagSeconds, labels, s.lagSeconds);
      setOrRemove(replicationLagBytes, labels, s.lagBytes);
    },
  };
}
