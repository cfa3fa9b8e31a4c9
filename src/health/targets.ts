import type { CheckConfig, Config, DatabaseConfig } from '../config/schema.js';

export type ComponentName = 'gateway' | 'keyManager' | 'database';

/** Everything needed to probe one target and to judge its results, defaults filled in. */
export interface HealthTarget {
  /** `${region}.${component}.${checkName}` or `${region}.database.${dbKey}`. */
  id: string;
  region: string;
  component: ComponentName;
  /** Check name, or database key. */
  name: string;
  /**
   * Component instance this target counts for: a gateway/keyManager target is one instance;
   * a database target is its own component (one per key).
   */
  componentId: string;
  intervalMs: number;
  timeoutMs: number;
  jitter: number;
  rise: number;
  fall: number;
  /** The component's `minHealthy` (1 for databases). */
  minHealthy: number;
  check?: CheckConfig;
  database?: DatabaseConfig;
  /** Default body limit for HTTP checks without their own. */
  maxBodyBytes: number;
}

export function targetId(region: string, component: ComponentName, name: string): string {
  return `${region}.${component}.${name}`;
}

export function componentKey(region: string, component: ComponentName, dbKey?: string): string {
  return component === 'database' ? `${region}.database.${dbKey}` : `${region}.${component}`;
}

/** Lists every probe target of the validated configuration, in configuration order. */
export function buildHealthTargets(config: Config): HealthTarget[] {
  const d = config.probes;
  const out: HealthTarget[] = [];
  for (const [region, rc] of Object.entries(config.regions)) {
    for (const component of ['gateway', 'keyManager'] as const) {
      const comp = rc[component];
      if (!comp) continue;
      for (const check of comp.checks) {
        out.push({
          id: targetId(region, component, check.name),
          region,
          component,
          name: check.name,
          componentId: componentKey(region, component),
          intervalMs: check.interval ?? d.interval,
          timeoutMs: check.timeout ?? d.timeout,
          jitter: d.jitter,
          rise: check.rise ?? d.rise,
          fall: check.fall ?? d.fall,
          minHealthy: comp.minHealthy,
          check,
          maxBodyBytes: check.http?.maxBodyBytes ?? d.maxBodyBytes,
        });
      }
    }
    for (const [key, db] of Object.entries(rc.databases ?? {})) {
      out.push({
        id: targetId(region, 'database', key),
        region,
        component: 'database',
        name: key,
        componentId: componentKey(region, 'database', key),
        intervalMs: db.interval ?? d.interval,
        timeoutMs: db.timeout ?? d.timeout,
        jitter: d.jitter,
        rise: db.rise ?? d.rise,
        fall: db.fall ?? d.fall,
        minHealthy: 1,
        database: db,
        maxBodyBytes: d.maxBodyBytes,
      });
    }
  }
  return out;
}
