import type { DatabaseConfig } from '../config/schema.js';
import type { PromoterDeps } from './common.js';
import { createMysqlPromoter } from './mysql.js';
import { createPostgresPromoter } from './postgres.js';
import type { Promoter } from './types.js';

/** The promoter for a configured database: PostgreSQL, or MySQL/MariaDB (engine detected on connect). */
export function createPromoter(db: DatabaseConfig, deps: PromoterDeps = {}): Promoter {
  return db.engine === 'postgres' ? createPostgresPromoter(db, deps) : createMysqlPromoter(db, deps);
}

export type { PromoterDeps, PromoterLogger } from './common.js';
export { createDatabaseMetrics, type DatabaseMetrics } from './metrics.js';
export { fenceRegion, promoteRegion, type RegionFenceResult, type RegionPromotionResult } from './region.js';
export {
  type RegionSwitchoverResult,
  type SwitchoverOptions,
  type SwitchoverResult,
  switchover,
  switchoverRegion,
} from './switchover.js';
export type * from './types.js';
