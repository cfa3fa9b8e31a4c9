import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { DEMO_DATABASES, type DemoWorld } from './world.js';

/**
 * The seed's four regions, pointed at the demo world, with timings short enough to watch a
 * failover in under a minute. Validated like any configuration file.
 */
export function demoConfig(
  world: DemoWorld,
  dir: string,
  listen: string,
  adminListen = '127.0.0.1:9465',
): Config {
  const check = (name: string, url: string) => ({ checks: [{ name, http: { url } }] });
  const dbs = (region: string) =>
    Object.fromEntries(
      DEMO_DATABASES.map((key) => [
        key,
        {
          engine: 'postgres',
          host: `${key}-db.${region}.demo`,
          database: `${key}_db`,
          user: 'switchyard',
          password: 'env:SWITCHYARD_DEMO_DB_PASSWORD',
        },
      ]),
    );
  const ip = (n: number) => ({ values: [`192.0.2.${n}`] });
  const raw = {
    director: { id: 'demo', listen, observers: 3 },
    admin: { listen: adminListen, tokens: [{ name: 'demo-operator', token: 'env:SWITCHYARD_DEMO_TOKEN' }] },
    state: { store: 'file', path: join(dir, 'state.json') },
    dns: { provider: 'file', file: { path: join(dir, 'dns.json') } },
    probes: { interval: '1s', timeout: '800ms', rise: 2, fall: 2 },
    policy: {
      failAfter: '2s',
      recoverAfter: '10s',
      staleAfter: '10s',
      promotion: {
        mode: 'automatic',
        promoteAfter: '8s',
        maxLagSeconds: 10,
        maxLagBytes: '16MiB',
        catchUpTimeout: '15s',
      },
    },
    regions: {
      r1: {
        role: 'main',
        description: 'Region 1 (main)',
        gateway: check('gw-1', world.url('r1', 'gateway')),
        keyManager: check('km-1', world.url('r1', 'keyManager')),
        databases: dbs('r1'),
      },
      r2: {
        role: 'failover',
        description: 'Region 2 (failover)',
        gateway: check('gw-2', world.url('r2', 'gateway')),
        keyManager: check('km-2', world.url('r2', 'keyManager')),
        databases: dbs('r2'),
      },
      r3: {
        role: 'edge',
        description: 'Region 3',
        failover: ['r1', 'r2'],
        gateway: check('gw-3', world.url('r3', 'gateway')),
      },
      r4: {
        role: 'edge',
        description: 'Region 4',
        failover: { split: { r1: 50, r2: 50 } },
        gateway: check('gw-4', world.url('r4', 'gateway')),
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
      { name: 'auth.r1.example.com', class: 'auth', home: 'r1', targets: { r1: ip(11), r2: ip(21) } },
      { name: 'auth.r2.example.com', class: 'auth', home: 'r2', targets: { r2: ip(21), r1: ip(11) } },
      { name: 'auth.r3.example.com', class: 'auth', home: 'r3', targets: { r1: ip(11), r2: ip(21) } },
      { name: 'auth.r4.example.com', class: 'auth', home: 'r4', targets: { r1: ip(11), r2: ip(21) } },
      { name: 'manage.example.com', class: 'management', targets: { r1: ip(12), r2: ip(22) } },
    ],
  };
  return parseConfig(raw, 'demo configuration').config;
}
