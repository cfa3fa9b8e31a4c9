import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { durationIn } from '../../src/config/fields.js';
import { checkConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { EXAMPLE } from '../support/engine.js';

/**
 * Issue 8.8: every duration and ratio has bounds. The impossible is an error naming the path, the
 * risky a warning; one test per bound, the issue's own cases first.
 */

type Doc = Record<string, any>;
const example = (): Doc => parse(readFileSync(EXAMPLE, 'utf8'));

function check(edit: (c: Doc) => void): { errors: string[]; warnings: string[] } {
  const c = example();
  edit(c);
  const r = checkConfig(c);
  return { errors: r.errors, warnings: r.warnings.map((w) => `${w.path}: ${w.message}`) };
}

/** The one error the edit causes (the example itself is valid). */
function errorOf(edit: (c: Doc) => void): string {
  const { errors } = check(edit);
  expect(errors).toHaveLength(1);
  return errors[0] as string;
}

/** The warnings the edit adds to the example's own (automatic promotion with one observer). */
function warningsOf(edit: (c: Doc) => void): string[] {
  const { errors, warnings } = check(edit);
  expect(errors).toEqual([]);
  return warnings.filter((w) => !w.startsWith('policy.promotion.mode: automatic promotion with 1 observer'));
}

const gw1a = (c: Doc) => c.regions.r1.gateway.checks[0];
const apim = (c: Doc) => c.regions.r1.databases.apim;

describe('the issue’s cases', () => {
  it('interval: 30d (it would overflow setTimeout) is an error naming the path', () => {
    expect(errorOf((c) => (c.probes.interval = '30d'))).toBe(
      'probes.interval: "30d" is too long: at most 1h (100ms–1h): evidence older than an hour says nothing about now',
    );
  });

  it('interval: 1ms with timeout: 0ms: both are errors', () => {
    const { errors } = check((c) => {
      c.probes.interval = '1ms';
      c.probes.timeout = '0ms';
    });
    expect(errors).toEqual([
      'probes.interval: "1ms" is too short: at least 100ms (100ms–1h): a probe more often than every 100ms floods the target and the director',
      'probes.timeout: "0ms" is too short: at least 10ms (10ms–5m): no probe can answer in less than 10ms; 0 would fail every probe',
    ]);
  });

  it('staleAfter shorter than the probe interval (everything unknown for ever) is an error', () => {
    const e = errorOf((c) => {
      c.probes.interval = '1m';
      c.probes.timeout = '5s';
    });
    expect(e).toMatch(
      /^policy\.staleAfter: 30s is not longer than the longest gap between two results of a target, regions\.r1\.gateway\.checks\[0\] \(interval 1m × \(1 \+ jitter 0\.1\) \+ timeout 5s = 1m11s\): its evidence would turn unknown between probes/,
    );
  });

  it('panicThreshold: 0 is an error', () => {
    expect(errorOf((c) => (c.policy.panicThreshold = 0))).toBe(
      'policy.panicThreshold: must be above 0: at 0 one region looking down would freeze every change',
    );
  });

  it('promoteAfter: 0s is an error', () => {
    expect(errorOf((c) => (c.policy.promotion.promoteAfter = '0s'))).toBe(
      'policy.promotion.promoteAfter: "0s" is too short: at least 1s (1s–1d): promotion needs lasting evidence, never a single probe round',
    );
  });
});

describe('errors: values that cannot work', () => {
  it.each([
    [
      'probes.timeout above 5m',
      (c: Doc) => (c.probes.timeout = '10m'),
      /^probes\.timeout: "10m" is too long: at most 5m/,
    ],
    [
      'a check’s own interval',
      (c: Doc) => (gw1a(c).interval = '50ms'),
      /^regions\.r1\.gateway\.checks\[0\]\.interval: "50ms" is too short: at least 100ms/,
    ],
    [
      'a check’s own timeout',
      (c: Doc) => (gw1a(c).timeout = '0s'),
      /^regions\.r1\.gateway\.checks\[0\]\.timeout: "0s" is too short: at least 10ms/,
    ],
    [
      'a database’s interval',
      (c: Doc) => (apim(c).interval = '2h'),
      /^regions\.r1\.databases\.apim\.interval: "2h" is too long: at most 1h/,
    ],
    [
      'probes.jitter above 1',
      (c: Doc) => (c.probes.jitter = 1.5),
      /^probes\.jitter: Too big: expected number to be <=1/,
    ],
    [
      'probes.jitter below 0',
      (c: Doc) => (c.probes.jitter = -0.1),
      /^probes\.jitter: Too small: expected number to be >=0/,
    ],
    [
      'probes.maxBodyBytes 0',
      (c: Doc) => (c.probes.maxBodyBytes = 0),
      /^probes\.maxBodyBytes: 0B is too small: at least 1B/,
    ],
    [
      'probes.maxBodyBytes 1GiB',
      (c: Doc) => (c.probes.maxBodyBytes = '1GiB'),
      /^probes\.maxBodyBytes: 1GiB is too large: at most 16MiB/,
    ],
    [
      'policy.failAfter above 1d',
      (c: Doc) => (c.policy.failAfter = '2d'),
      /^policy\.failAfter: "2d" is too long: at most 1d/,
    ],
    [
      'policy.recoverAfter above 1d',
      (c: Doc) => (c.policy.recoverAfter = '25h'),
      /^policy\.recoverAfter: "25h" is too long: at most 1d/,
    ],
    [
      'policy.staleAfter below 1s',
      (c: Doc) => (c.policy.staleAfter = '500ms'),
      /^policy\.staleAfter: "500ms" is too short: at least 1s/,
    ],
    [
      'policy.staleAfter above 1h',
      (c: Doc) => (c.policy.staleAfter = '2h'),
      /^policy\.staleAfter: "2h" is too long: at most 1h/,
    ],
    [
      'policy.panicThreshold above 1',
      (c: Doc) => (c.policy.panicThreshold = 1.5),
      /^policy\.panicThreshold: Too big: expected number to be <=1/,
    ],
    [
      'promoteAfter above 1d',
      (c: Doc) => (c.policy.promotion.promoteAfter = '30d'),
      /^policy\.promotion\.promoteAfter: "30d" is too long: at most 1d/,
    ],
    [
      'maxLagSeconds above a day',
      (c: Doc) => (c.policy.promotion.maxLagSeconds = 100_000),
      /^policy\.promotion\.maxLagSeconds: Too big/,
    ],
    [
      'maxLagSeconds negative',
      (c: Doc) => (c.policy.promotion.maxLagSeconds = -1),
      /^policy\.promotion\.maxLagSeconds: Too small/,
    ],
    [
      'maxLagBytes negative',
      (c: Doc) => (c.policy.promotion.maxLagBytes = -1),
      /^policy\.promotion\.maxLagBytes: "-1" is not a size/,
    ],
    [
      'catchUpTimeout 0s',
      (c: Doc) => (c.policy.promotion.catchUpTimeout = '0s'),
      /^policy\.promotion\.catchUpTimeout: "0s" is too short: at least 1s/,
    ],
    [
      'catchUpTimeout above 1h',
      (c: Doc) => (c.policy.promotion.catchUpTimeout = '2h'),
      /^policy\.promotion\.catchUpTimeout: "2h" is too long: at most 1h/,
    ],
    [
      'database connectTimeout',
      (c: Doc) => (apim(c).connectTimeout = '10ms'),
      /^regions\.r1\.databases\.apim\.connectTimeout: "10ms" is too short: at least 100ms/,
    ],
    [
      'database statementTimeout',
      (c: Doc) => (apim(c).statementTimeout = '20m'),
      /^regions\.r1\.databases\.apim\.statementTimeout: "20m" is too long: at most 10m/,
    ],
    [
      'hard fence timeout',
      (c: Doc) => (c.regions.r2.databases.apim.hardFence.timeout = '0s'),
      /^regions\.r2\.databases\.apim\.hardFence\.timeout: "0s" is too short: at least 1s/,
    ],
    [
      'record ttl 0s',
      (c: Doc) => (c.records[0].ttl = '0s'),
      /^records\[0\]\.ttl: "0s" is too short: at least 1s \(1s–1d\): Route 53 TTLs are whole seconds/,
    ],
    [
      'record ttl above 1d',
      (c: Doc) => (c.records[0].ttl = '2d'),
      /^records\[0\]\.ttl: "2d" is too long: at most 1d/,
    ],
    [
      'route53.pollInterval',
      (c: Doc) => (c.dns.route53.pollInterval = '10ms'),
      /^dns\.route53\.pollInterval: "10ms" is too short: at least 100ms/,
    ],
    [
      'route53.syncTimeout',
      (c: Doc) => (c.dns.route53.syncTimeout = '5s'),
      /^dns\.route53\.syncTimeout: "5s" is too short: at least 10s/,
    ],
    [
      'route53.requestTimeout 0s',
      (c: Doc) => (c.dns.route53.requestTimeout = '0s'),
      /^dns\.route53\.requestTimeout: "0s" is too short: at least 1s/,
    ],
    [
      'route53.requestTimeout above 2m',
      (c: Doc) => (c.dns.route53.requestTimeout = '5m'),
      /^dns\.route53\.requestTimeout: "5m" is too long: at most 2m/,
    ],
    [
      'route53.maxRequestsPerSecond',
      (c: Doc) => (c.dns.route53.maxRequestsPerSecond = 0.01),
      /^dns\.route53\.maxRequestsPerSecond: at least 0\.1 request\/s/,
    ],
    [
      'maintenance window shorter than 1m',
      (c: Doc) => (c.maintenance[0].duration = '30s'),
      /^maintenance\[0\]\.duration: "30s" is too short: at least 1m/,
    ],
    [
      'maintenance window longer than 7d',
      (c: Doc) => (c.maintenance[0].duration = '30d'),
      /^maintenance\[0\]\.duration: "30d" is too long: at most 7d/,
    ],
    ['director.observers 0', (c: Doc) => (c.director.observers = 0), /^director\.observers: Too small/],
  ])('%s', (_name, edit, expected) => {
    expect(errorOf(edit)).toMatch(expected);
  });

  it('a timeout not shorter than its interval, for checks and databases alike', () => {
    expect(errorOf((c) => (gw1a(c).timeout = '5s'))).toBe(
      'regions.r1.gateway.checks[0]: timeout (5s) must be shorter than the interval (5s)',
    );
    expect(errorOf((c) => (apim(c).timeout = '6s'))).toBe(
      'regions.r1.databases.apim: timeout (6s) must be shorter than the interval (5s)',
    );
  });

  it('staleAfter against the slowest target, jitter included', () => {
    // A database probed every 20 s with a 5 s timeout: results can be 20 × 1.1 + 5 = 27 s apart.
    const e = errorOf((c) => {
      apim(c).interval = '20s';
      apim(c).timeout = '5s';
      c.policy.staleAfter = '27s';
    });
    expect(e).toMatch(
      /^policy\.staleAfter: 27s is not longer than the longest gap between two results of a target, regions\.r1\.databases\.apim \(interval 20s × \(1 \+ jitter 0\.1\) \+ timeout 5s = 27s\)/,
    );
    expect(
      check((c) => {
        apim(c).interval = '20s';
        apim(c).timeout = '5s';
        c.policy.staleAfter = '50s';
      }).errors,
    ).toEqual([]);
  });

  it('no duration may exceed what a timer holds (2^31−1 ms)', () => {
    const unbounded = durationIn(0, Number.POSITIVE_INFINITY);
    expect(unbounded.safeParse('24d').success).toBe(true);
    const r = unbounded.safeParse('25d');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe('"25d" is too long: at most 24d20h (0ms–24d20h)');
  });
});

describe('warnings: values that work but are risky', () => {
  it('promoteAfter shorter than failAfter', () => {
    expect(warningsOf((c) => (c.policy.promotion.promoteAfter = '20s'))).toEqual([
      'policy.promotion.promoteAfter: promoteAfter (20s) is shorter than failAfter (30s): a promotion would rest on weaker evidence than moving traffic does',
    ]);
  });

  it("promoteAfter shorter than fall × interval of the main's database probes", () => {
    expect(
      warningsOf((c) => {
        c.policy.failAfter = '5s';
        c.policy.promotion.promoteAfter = '10s';
      }),
    ).toEqual([
      'policy.promotion.promoteAfter: promoteAfter (10s) is shorter than fall × interval of regions.r1.databases.apim (3 × 5s = 15s): a promotion may follow a database outage no longer than a few lost probes',
    ]);
  });

  it('panicThreshold below 1/regions: one region trips it', () => {
    expect(warningsOf((c) => (c.policy.panicThreshold = 0.2))).toEqual([
      'policy.panicThreshold: 0.2 is below 1/4 regions: a single region looking down trips the panic guard, and no traffic ever moves away from it',
    ]);
    expect(warningsOf((c) => (c.policy.panicThreshold = 0.25))).toEqual([]);
  });

  it('panicThreshold 1: the guard never trips', () => {
    expect(warningsOf((c) => (c.policy.panicThreshold = 1))).toEqual([
      'policy.panicThreshold: 1: the panic guard never trips, even when every region looks down at once',
    ]);
  });

  it('recoverAfter shorter than failAfter', () => {
    expect(warningsOf((c) => (c.policy.recoverAfter = '10s'))).toEqual([
      'policy.recoverAfter: recoverAfter (10s) is shorter than failAfter (30s): a flapping region will move traffic often',
    ]);
  });

  it('staleAfter with less than one interval to spare', () => {
    // Longest gap 5 × 1.1 + 2 = 7.5 s; 10 s leaves less than one more interval (5 s).
    expect(warningsOf((c) => (c.policy.staleAfter = '10s'))).toEqual([
      'policy.staleAfter: 10s leaves less than one interval to spare after the longest gap between two results, regions.r1.gateway.checks[0] (interval 5s × (1 + jitter 0.1) + timeout 2s = 7.5s): one late result makes the evidence unknown',
    ]);
  });

  it('jitter above 0.5', () => {
    expect(warningsOf((c) => (c.probes.jitter = 0.8))).toEqual([
      'probes.jitter: 0.8: a gap between two probes varies from 20% to 180% of the interval; probes bunch up and leave long holes',
    ]);
  });

  it('a TTL above 5 minutes', () => {
    expect(warningsOf((c) => (c.records[0].ttl = '1h'))).toEqual([
      'records[0].ttl: a TTL of 1h: after a failover, resolvers may keep sending clients to the lost region that long',
    ]);
  });

  it('syncTimeout not longer than pollInterval', () => {
    expect(
      warningsOf((c) => {
        c.dns.route53.pollInterval = '30s';
        c.dns.route53.syncTimeout = '20s';
      }),
    ).toEqual([
      'dns.route53.syncTimeout: 20s is not longer than pollInterval (30s): propagation is checked at most once',
    ]);
  });
});

describe('the reference shows the bounds', () => {
  /** Every number and duration field of the schema, with its description. */
  function leaves(schema: z.ZodType, path = ''): { path: string; description: string | undefined }[] {
    let n = schema;
    const description = schema.description;
    for (let i = 0; i < 10; i++) {
      const def = (n as unknown as { def: { type: string; innerType?: z.ZodType } }).def;
      if (!['optional', 'default', 'prefault', 'nullable'].includes(def.type) || !def.innerType) break;
      n = def.innerType;
    }
    if (n instanceof z.ZodObject)
      return Object.entries(n.shape as Record<string, z.ZodType>).flatMap(([k, v]) =>
        leaves(v, path ? `${path}.${k}` : k),
      );
    if (n instanceof z.ZodRecord) return leaves(n.valueType as z.ZodType, `${path}.<id>`);
    if (n instanceof z.ZodArray) return leaves(n.element as z.ZodType, `${path}[]`);
    const type = (n as unknown as { def: { type: string } }).def.type;
    return type === 'number' || type === 'pipe' ? [{ path, description: description ?? n.description }] : [];
  }

  it('every duration, size and ratio says its bounds in its description', () => {
    const fields = leaves(configSchema);
    expect(fields.length).toBeGreaterThan(25);
    const missing = fields.filter((f) => !/\d[^;]*–|above 0|or more/.test(f.description ?? ''));
    expect(missing).toEqual([]);
  });
});
