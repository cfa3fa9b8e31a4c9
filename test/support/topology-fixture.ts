import type { Topology } from '../../src/topology/types.js';

/** A small four-region topology (main, failover, two edges) for server, metrics and CLI tests. */
export function fixtureTopology(): Topology {
  const fb = { kind: 'preference' as const, order: ['r1', 'r2'] };
  return {
    configuredMain: 'r1',
    regions: [
      {
        id: 'r1',
        role: 'main',
        hasGateway: true,
        hasKeyManager: true,
        databases: ['apim', 'shared'],
        fallback: { kind: 'preference', order: ['r2'] },
        fallbackConfigured: false,
      },
      {
        id: 'r2',
        role: 'failover',
        hasGateway: true,
        hasKeyManager: true,
        databases: ['apim', 'shared'],
        fallback: { kind: 'preference', order: ['r1'] },
        fallbackConfigured: false,
      },
      {
        id: 'r3',
        role: 'edge',
        hasGateway: true,
        hasKeyManager: false,
        databases: [],
        fallback: fb,
        fallbackConfigured: false,
      },
      {
        id: 'r4',
        role: 'edge',
        hasGateway: true,
        hasKeyManager: false,
        databases: [],
        fallback: fb,
        fallbackConfigured: false,
      },
    ],
    records: [
      {
        key: 'api.r1.example.com/A',
        name: 'api.r1.example.com',
        class: 'api',
        home: 'r1',
        type: 'A',
        ttlSeconds: 60,
        targets: {
          r1: { weight: 100, setIdentifier: 'r1', values: ['10.0.1.1'] },
          r2: { weight: 0, setIdentifier: 'r2', values: ['10.0.2.1'] },
        },
      },
      {
        key: 'manage.example.com/A',
        name: 'manage.example.com',
        class: 'management',
        type: 'A',
        ttlSeconds: 60,
        targets: {
          r1: { weight: 100, setIdentifier: 'r1', values: ['10.0.1.2'] },
          r2: { weight: 0, setIdentifier: 'r2', values: ['10.0.2.2'] },
        },
      },
    ],
    policy: {
      failAfterMs: 30_000,
      recoverAfterMs: 120_000,
      staleAfterMs: 30_000,
      panicThreshold: 0.5,
      promotion: { mode: 'manual', promoteAfterMs: 60_000, maxLagSeconds: 10, maxLagBytes: 16_777_216 },
    },
  };
}
