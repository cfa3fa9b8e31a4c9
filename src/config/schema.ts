import { z } from 'zod';
import { bodyRegexProblem } from '../probe/body-regex.js';
import {
  DAY,
  dnsName,
  durationIn,
  HOUR,
  hostPort,
  MINUTE,
  regionId,
  SECOND,
  secretRef,
  sizeIn,
  weight,
} from './fields.js';

/**
 * The configuration file's schema. Every object is strict: an unknown key is an error, because a
 * typo ("recoverAftr") that silently falls back to a default changes failover behaviour.
 * Durations and sizes are compiled to milliseconds and bytes here, once.
 *
 * Every duration, ratio and size has bounds. Values that cannot work are errors naming the path
 * (here, or in crosscheck.ts when the bound involves another field); values that work but are
 * risky are warnings (crosscheck.ts). Each field's description states its bounds, because the
 * configuration reference (docs/configuration.md) is generated from these descriptions.
 */

const MiB = 1_048_576;

/** Probe timing: shared by the `probes` defaults, each check and each database. */
const probeInterval = durationIn(100, HOUR, {
  min: 'a probe more often than every 100ms floods the target and the director',
  max: 'evidence older than an hour says nothing about now',
});
const probeTimeout = durationIn(10, 5 * MINUTE, {
  min: 'no probe can answer in less than 10ms; 0 would fail every probe',
  max: 'a probe that may take longer than 5m detects nothing in time',
});
const INTERVAL_TEXT = 'time between two probes of a target; 100ms–1h';
const TIMEOUT_TEXT =
  'bound of one probe; 10ms–5m, and shorter than the interval (error); a run past it counts as a failure';
const RISE_TEXT = 'consecutive successes before a target is up; 1–100';
const FALL_TEXT = 'consecutive failures before a target is down; 1–100';
const riseFall = z.number().int().min(1).max(100);

const tlsOptions = z.strictObject({
  ca: z.string().optional().describe('path to a PEM bundle of CAs to trust'),
  cert: z.string().optional().describe('path to a PEM client certificate'),
  key: z.string().optional().describe('path to the PEM key of the client certificate'),
  serverName: z.string().optional(),
  insecureSkipVerify: z.boolean().default(false),
});

const probeTiming = {
  interval: probeInterval.optional().describe(`${INTERVAL_TEXT}; default: probes.interval`),
  timeout: probeTimeout.optional().describe(`${TIMEOUT_TEXT}; default: probes.timeout`),
  rise: riseFall.optional().describe(`${RISE_TEXT}; default: probes.rise`),
  fall: riseFall.optional().describe(`${FALL_TEXT}; default: probes.fall`),
};

const httpCheck = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  method: z.enum(['GET', 'HEAD', 'POST']).default('GET'),
  headers: z.record(z.string(), z.string()).default({}),
  bearerToken: secretRef.optional(),
  body: z.string().optional(),
  expectStatus: z
    .array(z.number().int().min(100).max(599).describe('an HTTP status code; 100–599'))
    .min(1)
    .default([200])
    .describe('statuses that count as up; each 100–599; default [200]'),
  bodyMatch: z.string().min(1).optional(),
  bodyRegex: z
    .string()
    .min(1)
    .superRefine((s, ctx) => {
      const problem = bodyRegexProblem(s);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  maxBodyBytes: sizeIn(1, 16 * MiB, { max: 'a health check body is small; more only costs memory' })
    .optional()
    .describe('bytes of the body read for bodyMatch/bodyRegex; 1B–16MiB; default: probes.maxBodyBytes'),
  tls: tlsOptions.optional(),
});

const tcpCheck = z.strictObject({
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).describe('TCP port; 1–65535'),
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
  minHealthy: z
    .number()
    .int()
    .min(1)
    .default(1)
    .describe(
      'checks that must be up for the component to be up; 1–the number of checks (error above); default 1',
    ),
  checks: z.array(check).min(1, 'a component needs at least one check'),
});

const database = z.strictObject({
  engine: z.enum(['postgres', 'mysql', 'mariadb']),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).optional().describe('1–65535; default: the engine’s (5432, 3306)'),
  database: z.string().min(1),
  user: z.string().min(1),
  password: secretRef.optional(),
  tls: tlsOptions.optional(),
  connectTimeout: durationIn(100, 2 * MINUTE)
    .default(3_000)
    .describe('bound of connecting (TCP, TLS, authentication); 100ms–2m; default 3s'),
  statementTimeout: durationIn(100, 10 * MINUTE)
    .default(5_000)
    .describe('bound of each status query and of each step of a fence or promotion; 100ms–10m; default 5s'),
  heartbeatTable: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'a table name, optionally schema-qualified')
    .default('switchyard_heartbeat'),
  hardFence: z
    .strictObject({
      command: z.array(z.string()).min(1),
      timeout: durationIn(SECOND, 10 * MINUTE)
        .default(30_000)
        .describe('bound of the hard-fence command; 1s–10m; default 30s'),
    })
    .optional()
    .describe('a command that stops the old primary or cuts its network, run after the SQL fence'),
  ...probeTiming,
});

const split = z.strictObject({
  split: z.record(
    regionId,
    weight.min(1, 'split weights are 1–255').describe('share of the traffic for this region; 1–255'),
  ),
});
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
    weight: weight
      .min(1, 'a serving weight of 0 would never serve; use 1–255')
      .default(100)
      .describe('Route 53 weight while this target serves; 1–255; default 100'),
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
  ttl: durationIn(SECOND, DAY, { min: 'Route 53 TTLs are whole seconds' })
    .default(60_000)
    .describe(
      'TTL of the record sets; 1s–1d; default 60s; above 5m is a warning (resolvers keep the old answer that long after a failover)',
    ),
  targets: z.record(regionId, recordTarget),
});

const route53 = z.strictObject({
  hostedZoneId: z.string().min(1),
  region: z.string().default('us-east-1'),
  endpoint: z.url().optional().describe('for emulators and tests'),
  assumeRoleArn: z.string().optional(),
  maxRequestsPerSecond: z
    .number()
    .min(0.1, 'at least 0.1 request/s: slower cannot move a deployment in time')
    .max(100)
    .default(5)
    .describe(
      "client-side limit of Route 53 API calls; 0.1–100 per second; default 5 (Route 53's account limit)",
    ),
  createMissing: z.boolean().default(false),
  pollInterval: durationIn(100, MINUTE)
    .default(2_000)
    .describe('GetChange polling until INSYNC; 100ms–1m; default 2s'),
  syncTimeout: durationIn(10 * SECOND, HOUR)
    .default(120_000)
    .describe(
      'stop polling GetChange (and warn) after this long; 10s–1h; default 2m; not longer than pollInterval is a warning',
    ),
  maxRetries: z
    .number()
    .int()
    .min(0)
    .max(20)
    .default(6)
    .describe('retries of one API call (throttling, 5xx, network errors, timeouts); 0–20; default 6'),
  requestTimeout: durationIn(SECOND, 2 * MINUTE)
    .default(10_000)
    .describe(
      'bound of each attempt of each Route 53 API call (connect, send, answer); 1s–2m; default 10s; an attempt past it is aborted and retried with backoff',
    ),
});

/** The coordination store of several director instances (state.store: etcd), see docs/coordination.md. */
const etcd = z.strictObject({
  endpoints: z
    .array(z.url({ protocol: /^https?$/, error: 'expected the http:// or https:// URL of an etcd member' }))
    .min(1, 'at least one etcd endpoint is needed'),
  prefix: z
    .string()
    .regex(/^\/(\S*\/)?$/, 'a key prefix starts and ends with "/", e.g. "/switchyard/"')
    .default('/switchyard/'),
  tls: z
    .strictObject({
      ca: z
        .string()
        .min(1)
        .optional()
        .describe('path to the PEM bundle of the CA that signed the members’ certificates'),
      cert: z.string().min(1).optional().describe('path to a PEM client certificate'),
      key: z.string().min(1).optional().describe('path to the PEM key of the client certificate'),
    })
    .optional(),
  username: z.string().min(1).optional(),
  password: secretRef.optional(),
  leaseTtl: durationIn(2 * SECOND, MINUTE, { min: 'keep-alives every TTL/3 must fit the etcd round trip' })
    .default(10_000)
    .describe(
      'TTL of each instance’s etcd lease: a lost leader is replaced within about this long; 2s–1m; default 10s',
    ),
  callTimeout: durationIn(100, 20 * SECOND)
    .default(2_000)
    .describe('deadline of every etcd call; at most a third of leaseTtl; 100ms–20s; default 2s'),
});

export const configSchema = z.strictObject({
  version: z.literal(1, { error: 'version must be 1' }).default(1),
  director: z
    .strictObject({
      id: z.string().min(1).default('switchyard'),
      listen: hostPort
        .default('127.0.0.1:9464')
        .describe('the read-only listener: /metrics, /healthz, /readyz, /v1/status (no token)'),
      adminToken: secretRef.optional().describe('deprecated: use admin.token (kept as an alias)'),
      observers: z
        .number()
        .int()
        .min(1)
        .max(100)
        .default(1)
        .describe('independent observers voting on health; 1–100; default 1'),
      region: regionId
        .optional()
        .describe('the region this instance runs in: its identity as an observer (with state.store etcd)'),
      quorum: z
        .number()
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe(
          'observers that must agree before a component is up or down; 1–100, at most director.observers; default a majority of live observers',
        ),
    })
    .prefault({}),
  admin: z
    .strictObject({
      listen: hostPort
        .default('127.0.0.1:9465')
        .describe('the admin API listener (token-protected); loopback unless allowNonLoopback'),
      allowNonLoopback: z
        .boolean()
        .default(false)
        .describe('let admin.listen bind a non-loopback address (put TLS and a NetworkPolicy in front)'),
      token: secretRef.optional().describe('one admin token; its identity is "admin"'),
      tokens: z
        .array(
          z.strictObject({
            name: z
              .string()
              .regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'token names are 1–64 letters, digits, "_", ".", "@" or "-"'),
            token: secretRef,
          }),
        )
        .default([])
        .superRefine((list, ctx) => {
          const seen = new Set<string>();
          list.forEach((t, i) => {
            if (seen.has(t.name))
              ctx.addIssue({
                code: 'custom',
                path: [i, 'name'],
                message: `duplicate token name "${t.name}"`,
              });
            seen.add(t.name);
          });
        })
        .describe('named admin tokens: the matching name is the operator identity in the journal'),
    })
    .prefault({}),
  state: z
    .strictObject({
      store: z.enum(['file', 'etcd']).default('file'),
      path: z.string().default('./var/state.json'),
      etcd: etcd.optional(),
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
      interval: probeInterval.default(5_000).describe(`${INTERVAL_TEXT}; default 5s`),
      timeout: probeTimeout.default(2_000).describe(`${TIMEOUT_TEXT}; default 2s`),
      jitter: z
        .number()
        .min(0)
        .max(1)
        .default(0.1)
        .describe(
          'share of the interval by which each gap between probes varies; 0–1; default 0.1; above 0.5 is a warning (probes may bunch up)',
        ),
      rise: riseFall.default(2).describe(`${RISE_TEXT}; default 2`),
      fall: riseFall.default(3).describe(`${FALL_TEXT}; default 3`),
      maxBodyBytes: sizeIn(1, 16 * MiB)
        .default(65_536)
        .describe('bytes of an HTTP body read for bodyMatch/bodyRegex; 1B–16MiB; default 64KiB'),
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
      failAfter: durationIn(0, DAY)
        .default(30_000)
        .describe('traffic leaves a region whose component has been down this long; 0s–1d; default 30s'),
      recoverAfter: durationIn(0, DAY)
        .default(120_000)
        .describe(
          'traffic returns only after the component has been up this long; 0s–1d; default 2m; shorter than failAfter is a warning (flapping)',
        ),
      staleAfter: durationIn(SECOND, HOUR)
        .default(30_000)
        .describe(
          'a probe result older than this is unknown, never down; 1s–1h; default 30s; must be longer than the longest gap between two results of any target, interval × (1 + jitter) + timeout (error), and should leave one more interval to spare (warning)',
        ),
      panicThreshold: z
        .number()
        .gt(0, 'must be above 0: at 0 one region looking down would freeze every change')
        .max(1)
        .default(0.5)
        .describe(
          'more than this share of the regions looking down at once trips the panic guard (nothing changes); above 0, at most 1; default 0.5; below 1/regions is a warning (one region trips it), 1 is a warning (it never trips)',
        ),
      promotion: z
        .strictObject({
          mode: z.enum(['automatic', 'manual']).default('manual'),
          promoteAfter: durationIn(SECOND, DAY, {
            min: 'promotion needs lasting evidence, never a single probe round',
          })
            .default(60_000)
            .describe(
              "every database of the main unreachable this long before the failover region is promoted; 1s–1d; default 1m; shorter than failAfter, or than fall × interval of the main's database probes, is a warning",
            ),
          maxLagSeconds: z
            .number()
            .min(0)
            .max(86_400)
            .default(10)
            .describe(
              'RPO bound in seconds of replication lag: no automatic promotion beyond it; 0–86400; default 10',
            ),
          maxLagBytes: sizeIn(0, Number.MAX_SAFE_INTEGER)
            .default(16 * MiB)
            .describe('RPO bound in bytes of WAL/binlog not yet applied; 0 or more; default 16MiB'),
          catchUpTimeout: durationIn(SECOND, HOUR)
            .default(30_000)
            .describe(
              "planned switchover: bound on the target applying the fenced primary's last position; 1s–1h; default 30s",
            ),
        })
        .prefault({}),
    })
    .prefault({}),
  maintenance: z
    .array(
      z.strictObject({
        region: regionId,
        cron: z.string().min(1),
        duration: durationIn(MINUTE, 7 * DAY).describe('how long each window lasts; 1m–7d'),
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
export type EtcdConfig = z.output<typeof etcd>;
