import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { DatabaseConfig } from '../../src/config/schema.js';
import type { FakeEndpoint } from './fake-endpoint.js';

export interface E2eWorld {
  gw: Record<'r1' | 'r2' | 'r3' | 'r4', FakeEndpoint>;
  km: Record<'r1' | 'r2', FakeEndpoint>;
  db: { r1: DatabaseConfig; r2: DatabaseConfig };
}

export interface E2eRecord {
  name: string;
  class: 'api' | 'auth' | 'management';
  home?: 'r1' | 'r2' | 'r3' | 'r4';
  /** Region → the A record's value (SetIdentifier = region, TTL = the 60 s default). */
  targets: Record<string, string>;
}

/** The records of the e2e configuration (the same list a Route 53 test seeds its zone with). */
export const E2E_RECORDS: readonly E2eRecord[] = [
  ...(['r1', 'r2', 'r3', 'r4'] as const).map(
    (r, i): E2eRecord => ({
      name: `api.${r}.example.com`,
      class: 'api',
      home: r,
      targets: {
        [r]: `192.0.2.${i + 1}`,
        ...(r !== 'r1' ? { r1: '192.0.2.1' } : {}),
        ...(r !== 'r2' ? { r2: '192.0.2.2' } : {}),
      },
    }),
  ),
  { name: 'auth.r1.example.com', class: 'auth', home: 'r1', targets: { r1: '192.0.2.11', r2: '192.0.2.12' } },
  { name: 'manage.example.com', class: 'management', targets: { r1: '192.0.2.21', r2: '192.0.2.22' } },
];

/** Weights with every region healthy: each record served by its home (management: the main, r1). */
export function homeWeights(): Record<string, Record<string, number>> {
  return Object.fromEntries(
    E2E_RECORDS.map((r) => {
      const home = r.home ?? 'r1';
      return [
        `${r.name}/A`,
        Object.fromEntries(Object.keys(r.targets).map((g) => [g, g === home ? 100 : 0])),
      ];
    }),
  );
}

/**
 * A `dns` block for the `extra` argument of writeE2eConfig: the Route 53 provider pointed at a
 * local emulator (credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in the env).
 */
export function route53DnsConfig(
  endpoint: string,
  hostedZoneId: string,
  opts: { dryRun?: boolean; reconcile?: string; route53?: Record<string, unknown> } = {},
): Record<string, unknown> {
  return {
    provider: 'route53',
    ...(opts.dryRun !== undefined ? { dryRun: opts.dryRun } : {}),
    ...(opts.reconcile !== undefined ? { reconcile: opts.reconcile } : {}),
    route53: {
      hostedZoneId,
      region: 'us-east-1',
      endpoint,
      createMissing: false,
      maxRequestsPerSecond: 20,
      pollInterval: '100ms',
      syncTimeout: '10s',
      maxRetries: 3,
      ...opts.route53,
    },
  };
}

/** Static credentials for the emulator (it checks a signature is present, not its value). */
export const EMULATOR_AWS_ENV: NodeJS.ProcessEnv = {
  AWS_ACCESS_KEY_ID: 'AKIDEMULATOR',
  AWS_SECRET_ACCESS_KEY: 'emulator-secret',
  AWS_REGION: 'us-east-1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

/**
 * The seed's four regions, pointed at local fake gateways and key managers and a real database
 * pair, with timings short enough for a test (and long enough to be stable on 2 cores).
 */
export function writeE2eConfig(
  dir: string,
  w: E2eWorld,
  policy: Record<string, unknown> = {},
  extra: Record<string, unknown> = {},
): { path: string; dnsFile: string; stateFile: string } {
  const dnsFile = join(dir, 'dns.json');
  const stateFile = join(dir, 'state.json');
  const check = (e: FakeEndpoint) => ({ checks: [{ name: e.name, http: { url: e.url } }] });
  const db = (c: DatabaseConfig) => ({
    ...c,
    connectTimeout: '1s',
    statementTimeout: '1s',
    timeout: '900ms',
    interval: '1s',
  });
  const target = (ip: string) => ({ values: [ip] });
  const config = {
    director: { id: 'e2e' },
    admin: { token: 'env:SY_E2E_TOKEN' },
    state: { store: 'file', path: stateFile },
    dns: { provider: 'file', file: { path: dnsFile } },
    // Generous timeouts: CI runs other suites (and database servers) on the same two cores.
    probes: { interval: '500ms', timeout: '450ms', jitter: 0.1, rise: 2, fall: 3 },
    policy: {
      failAfter: '1s',
      recoverAfter: '3s',
      staleAfter: '5s',
      promotion: { mode: 'manual', promoteAfter: '2s', maxLagSeconds: 10, maxLagBytes: '16MiB' },
      ...policy,
    },
    regions: {
      r1: {
        role: 'main',
        gateway: check(w.gw.r1),
        keyManager: check(w.km.r1),
        databases: { apim: db(w.db.r1) },
      },
      r2: {
        role: 'failover',
        gateway: check(w.gw.r2),
        keyManager: check(w.km.r2),
        databases: { apim: db(w.db.r2) },
      },
      r3: { role: 'edge', failover: ['r1', 'r2'], gateway: check(w.gw.r3) },
      r4: { role: 'edge', failover: { split: { r1: 50, r2: 50 } }, gateway: check(w.gw.r4) },
    },
    records: E2E_RECORDS.map((r) => ({
      name: r.name,
      class: r.class,
      ...(r.home ? { home: r.home } : {}),
      targets: Object.fromEntries(Object.entries(r.targets).map(([region, ip]) => [region, target(ip)])),
    })),
    ...extra,
  };
  const path = join(dir, 'switchyard.yaml');
  writeFileSync(path, stringify(config));
  return { path, dnsFile, stateFile };
}
