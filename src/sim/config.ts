import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

/** What a simulated deployment looks like; everything else is the seed article's layout. */
export interface SimLayout {
  /** Director instances (observers), 1–5. */
  instances: number;
  promotion: 'automatic' | 'manual';
  /** Configure a hard fence (a command that stops the old primary) on every database. */
  hardFence: boolean;
  /** Timings as the config file writes them; the example configuration's by default. */
  timing: {
    interval: string;
    timeout: string;
    rise: number;
    fall: number;
    failAfter: string;
    recoverAfter: string;
    staleAfter: string;
    promoteAfter: string;
  };
}

export const DEFAULT_LAYOUT: SimLayout = {
  instances: 1,
  promotion: 'automatic',
  hardFence: true,
  timing: {
    interval: '5s',
    timeout: '2s',
    rise: 2,
    fall: 3,
    failAfter: '30s',
    recoverAfter: '2m',
    staleAfter: '30s',
    promoteAfter: '1m',
  },
};

export const SIM_ZONE_ID = 'ZSIMULATED';
/** The coordination store's lease TTL (state.etcd.leaseTtl) and call deadline in the simulation. */
export const SIM_LEASE_TTL_MS = 10_000;
export const SIM_ETCD_CALL_TIMEOUT_MS = 2_000;
export const SIM_ETCD_PREFIX = '/switchyard/';

/** Who one instance is: its id, its region, and its state store (several instances: etcd). */
export interface SimIdentity {
  id: string;
  region: string;
  store: 'file' | 'etcd';
}
export const SIM_DATABASES = ['apim', 'shared'] as const;

/**
 * The seed's four regions (r1 main, r2 failover, r3 and r4 edges) with two gateway checks in
 * r1 (minHealthy 1, so one check failing is not an outage), Route 53 as the DNS provider, and
 * two PostgreSQL databases in each core region. Validated like any configuration file.
 */
export function simConfig(layout: Partial<SimLayout> = {}, who?: SimIdentity): Config {
  const l = { ...DEFAULT_LAYOUT, ...layout, timing: { ...DEFAULT_LAYOUT.timing, ...layout.timing } };
  const check = (name: string, host: string) => ({ name, http: { url: `http://${host}/health` } });
  const dbs = (region: string) =>
    Object.fromEntries(
      SIM_DATABASES.map((key) => [
        key,
        {
          engine: 'postgres',
          host: `${key}-db.${region}.sim`,
          database: `${key}_db`,
          user: 'switchyard',
          password: 'env:SWITCHYARD_SIM_DB_PASSWORD',
          ...(l.hardFence ? { hardFence: { command: ['sim-stop', `${key}-db.${region}.sim`] } } : {}),
        },
      ]),
    );
  const ip = (n: number) => ({ values: [`192.0.2.${n}`] });
  const raw = {
    director: { id: who?.id ?? 'sim', observers: l.instances, ...(who ? { region: who.region } : {}) },
    state:
      who?.store === 'etcd'
        ? {
            store: 'etcd',
            etcd: {
              endpoints: ['http://etcd.sim:2379'],
              prefix: SIM_ETCD_PREFIX,
              leaseTtl: `${SIM_LEASE_TTL_MS}ms`,
              callTimeout: `${SIM_ETCD_CALL_TIMEOUT_MS}ms`,
            },
          }
        : { store: 'file', path: '/sim/state.json' },
    dns: {
      provider: 'route53',
      route53: { hostedZoneId: SIM_ZONE_ID, pollInterval: '2s', syncTimeout: '2m', maxRequestsPerSecond: 5 },
    },
    probes: {
      interval: l.timing.interval,
      timeout: l.timing.timeout,
      rise: l.timing.rise,
      fall: l.timing.fall,
    },
    policy: {
      failAfter: l.timing.failAfter,
      recoverAfter: l.timing.recoverAfter,
      staleAfter: l.timing.staleAfter,
      promotion: {
        mode: l.promotion,
        promoteAfter: l.timing.promoteAfter,
        maxLagSeconds: 10,
        maxLagBytes: '16MiB',
      },
    },
    regions: {
      r1: {
        role: 'main',
        gateway: { minHealthy: 1, checks: [check('gw-a', 'gw-a.r1.sim'), check('gw-b', 'gw-b.r1.sim')] },
        keyManager: { checks: [check('km', 'km.r1.sim')] },
        databases: dbs('r1'),
      },
      r2: {
        role: 'failover',
        gateway: { checks: [check('gw', 'gw.r2.sim')] },
        keyManager: { checks: [check('km', 'km.r2.sim')] },
        databases: dbs('r2'),
      },
      r3: { role: 'edge', failover: ['r1', 'r2'], gateway: { checks: [check('gw', 'gw.r3.sim')] } },
      r4: {
        role: 'edge',
        failover: { split: { r1: 50, r2: 50 } },
        gateway: { checks: [check('gw', 'gw.r4.sim')] },
      },
    },
    records: [
      { name: 'api.r1.example.com', class: 'api', home: 'r1', targets: { r1: ip(10), r2: ip(20) } },
      { name: 'api.r2.example.com', class: 'api', home: 'r2', targets: { r2: ip(20), r1: ip(10) } },
      {
        name: 'api.r3.example.com',
        class: 'api',
        home: 'r3',
        targets: { r3: ip(30), r1: ip(10), r2: ip(20) },
      },
      {
        name: 'api.r4.example.com',
        class: 'api',
        home: 'r4',
        targets: { r4: ip(40), r1: ip(10), r2: ip(20) },
      },
      { name: 'auth.example.com', class: 'auth', targets: { r1: ip(11), r2: ip(21) } },
      { name: 'auth.r3.example.com', class: 'auth', home: 'r3', targets: { r1: ip(11), r2: ip(21) } },
      { name: 'manage.example.com', class: 'management', targets: { r1: ip(12), r2: ip(22) } },
    ],
  };
  return parseConfig(raw, 'simulation configuration').config;
}
