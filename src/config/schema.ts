import { z } from 'zod';
import { bodyRegexProblem } from '../probe/body-regex.js';
import { dnsName, duration, hostPort, regionId, secretRef, share, size, weight } from './fields.js';

/**
 * The configuration file's schema. Every object is strict: an unknown key is an error, because a
 * typo ("recoverAftr") that silently falls back to a default changes failover behaviour.
 * Durations and sizes are compiled to milliseconds and bytes here, once.
 */

const tlsOptions = z.strictObject({
  ca: z.string().optional().describe('path to a PEM bundle of CAs to trust'),
  cert: z.string().optional().describe('path to a PEM client certificate'),
  key: z.string().optional().describe('path to the PEM key of the client certificate'),
  serverName: z.string().optional(),
  insecureSkipVerify: z.boolean().default(false),
});

const probeTiming = {
  interval: duration.optional(),
  timeout: duration.optional(),
  rise: z.number().int().min(1).max(100).optional(),
  fall: z.number().int().min(1).max(100).optional(),
};

const httpCheck = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  bearerToken: secretRef.optional(),
  body: z.string().optional(),
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).default([200]),
  bodyMatch: z.string().min(1).optional(),
  bodyRegex: z
    .string()
    .min(1)
    .superRefine((s, ctx) => {
      const problem = bodyRegexProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  maxBodyBytes: size.optional(),
  tls: tlsOptions.optional(),
});

const tcpCheck = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
});

const check = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'check names are 1–64 letters, digits, "_", "." or "-"'),
    http: httpCheck.optional(),
    tcp: tcpCheck.optional(),
    ...probeTiming,
  })
  .superRefine((c, ctx) => {
    const kinds = [c.http, c.tcp].filter((k) => k !== undefined).length;
    if (kinds !== 1)
      ctx.addIssue({ code: 'custom', message: 'a check needs exactly one of "http" or "tcp"' });
  });

const component = z.strictObject({
  minHealthy: z.number().int().min(1).default(1),
  checks: z.array(check).min(1, 'a component needs at least one check'),
});

const database = z.strictObject({
  engine: z.enum(['postgres', 'mysql', 'mariadb']),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).optional(),
  database: z.string().min(1),
  user: z.string().min(1),
  password: secretRef.optional(),
  tls: tlsOptions.optional(),
  connectTimeout: duration.default(3_000),
  statementTimeout: duration.default(5_000),
  heartbeatTable: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'a table name, optionally schema-qualified')
    .default('switchyard_heartbeat'),
  hardFence: z
    .strictObject({ command: z.array(z.string()).min(1), timeout: duration.default(30_000) })
    .optional()
    .describe('a command that stops the old primary or cuts its network, run after the SQL fence'),
  ...probeTiming,
});

const split = z.strictObject({ split: z.record(regionId, weight.min(1, 'split weights are 1–255')) });
const fallback = z.union([z.array(regionId).min(1), split], {
  error: 'expected a list of regions in order of preference, or { split: { region: weight } }',
});

const region = z.strictObject({
  role: z.enum(['main', 'failover', 'edge']),
  description: z.string().optional(),
  gateway: component.optional(),
  keyManager: component.optional(),
  databases: z
    .record(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'database keys are lower-case identifiers'), database)
    .optional(),
  failover: fallback
    .optional()
    .describe('where this region’s traffic goes when it is down; derived from roles when omitted'),
});

const aliasTarget = z.strictObject({
  dnsName: dnsName,
  hostedZoneId: z.string().min(1),
  evaluateTargetHealth: z.boolean().default(false),
});

const recordTarget = z
  .strictObject({
    values: z.array(z.string().min(1)).min(1).optional(),
    alias: aliasTarget.optional(),
    weight: weight.min(1, 'a serving weight of 0 would never serve; use 1–255').default(100),
    setIdentifier: z.string().min(1).max(128).optional(),
  })
  .superRefine((t, ctx) => {
    if ((t.values === undefined) === (t.alias === undefined))
      ctx.addIssue({ code: 'custom', message: 'a target needs exactly one of "values" or "alias"' });
  });

const record = z.strictObject({
  name: dnsName,
  class: z.enum(['api', 'auth', 'management']),
  home: regionId.optional(),
  type: z.enum(['A', 'AAAA', 'CNAME']).default('A'),
  ttl: duration.default(60_000),
  targets: z.record(regionId, recordTarget),
});

const route53 = z.strictObject({
  hostedZoneId: z.string().min(1),
  region: z.string().default('us-east-1'),
  endpoint: z.url().optional().describe('for emulators and tests'),
  assumeRoleArn: z.string().optional(),
  maxRequestsPerSecond: z.number().positive().max(100).default(5),
  createMissing: z.boolean().default(false),
  pollInterval: duration.default(2_000),
  syncTimeout: duration.default(120_000),
  maxRetries: z.number().int().min(0).max(20).default(6),
});

export const configSchema = z.strictObject({
  version: z.literal(1, { error: 'version must be 1' }).default(1),
  director: z
    .strictObject({
      id: z.string().min(1).default('switchyard'),
      listen: hostPort.default('127.0.0.1:9464'),
      adminToken: secretRef.optional(),
      observers: z.number().int().min(1).default(1).describe('independent observers voting on health'),
    })
    .prefault({}),
  state: z
    .strictObject({
      store: z.enum(['file', 'etcd']).default('file'),
      path: z.string().default('./var/state.json'),
      etcd: z
        .strictObject({ endpoints: z.array(z.string()).min(1), prefix: z.string().default('/switchyard/') })
        .optional(),
    })
    .prefault({}),
  dns: z
    .strictObject({
      provider: z.enum(['memory', 'file', 'route53']).default('file'),
      dryRun: z.boolean().default(false),
      reconcile: z.string().default('*/5 * * * *').describe('cron expression of the periodic full reconcile'),
      file: z.strictObject({ path: z.string().default('./var/dns.json') }).prefault({}),
      route53: route53.optional(),
    })
    .prefault({}),
  probes: z
    .strictObject({
      interval: duration.default(5_000),
      timeout: duration.default(2_000),
      jitter: share.default(0.1),
      rise: z.number().int().min(1).max(100).default(2),
      fall: z.number().int().min(1).max(100).default(3),
      maxBodyBytes: size.default(65_536),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      // One probe-duration histogram per target is 14 series per target; off by default, when
      // the histograms are per region and component kind (docs/operations.md, Metrics).
      probeHistograms: z.boolean().default(false),
    })
    .prefault({}),
  policy: z
    .strictObject({
      failAfter: duration.default(30_000),
      recoverAfter: duration.default(120_000),
      staleAfter: duration.default(30_000),
      panicThreshold: share.default(0.5),
      promotion: z
        .strictObject({
          mode: z.enum(['automatic', 'manual']).default('manual'),
          promoteAfter: duration.default(60_000),
          maxLagSeconds: z.number().min(0).default(10),
          maxLagBytes: size.default(16 * 1_048_576),
          catchUpTimeout: duration.default(30_000),
        })
        .prefault({}),
    })
    .prefault({}),
  maintenance: z
    .array(
      z.strictObject({
        region: regionId,
        cron: z.string().min(1),
        duration: duration,
        timezone: z.string().optional(),
      }),
    )
    .default([]),
  regions: z.record(regionId, region),
  records: z.array(record).default([]),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type RegionConfig = Config['regions'][string];
export type RecordConfig = Config['records'][number];
export type CheckConfig = z.output<typeof check>;
export type HttpCheckConfig = z.output<typeof httpCheck>;
export type TcpCheckConfig = z.output<typeof tcpCheck>;
export type DatabaseConfig = z.output<typeof database>;
export type ComponentConfig = z.output<typeof component>;
export type Route53Config = z.output<typeof route53>;
export type TlsConfig = z.output<typeof tlsOptions>;
