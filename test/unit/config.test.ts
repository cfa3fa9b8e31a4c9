import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfigText, parseConfig } from '../../src/config/load.js';
import { resolveSecret } from '../../src/config/secrets.js';
import { parseDuration, parseSize } from '../../src/util/duration.js';
import { isSwitchyardError } from '../../src/util/errors.js';
import { EXAMPLE } from '../support/engine.js';

const example = () => parse(readFileSync(EXAMPLE, 'utf8')) as Record<string, any>;

/** The error lines a broken configuration produces (fails the test if it is accepted). */
function errorsOf(raw: unknown): string[] {
  try {
    parseConfig(raw, 'test.yaml');
  } catch (e) {
    if (isSwitchyardError(e, 'CONFIG_INVALID')) return [...e.details];
    throw e;
  }
  throw new Error('configuration was accepted');
}

describe('durations and sizes', () => {
  it('parses the units operators write', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2s')).toBe(2000);
    expect(parseDuration('1.5m')).toBe(90_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('2 s')).toBeUndefined();
    expect(parseDuration('10')).toBeUndefined();
    expect(parseSize('16MiB')).toBe(16 * 1048576);
    expect(parseSize(1024)).toBe(1024);
    expect(parseSize('lots')).toBeUndefined();
  });
});

describe('configuration', () => {
  it('accepts the seed example, compiling durations and sizes once', () => {
    const { config } = loadConfigText(readFileSync(EXAMPLE, 'utf8'), 'example');
    expect(config.policy.failAfter).toBe(30_000);
    expect(config.policy.promotion.maxLagBytes).toBe(16 * 1048576);
    expect(config.probes.maxBodyBytes).toBe(65_536);
    expect(Object.keys(config.regions)).toEqual(['r1', 'r2', 'r3', 'r4']);
    expect(config.regions.r1?.databases && Object.keys(config.regions.r1.databases)).toEqual([
      'apim',
      'shared',
    ]);
  });

  it('rejects unknown keys, naming the path and guessing the intent', () => {
    const c = example();
    c.policy.recoverAftr = '2m';
    c.regions.r1.gatway = c.regions.r1.gateway;
    const errors = errorsOf(c);
    expect(errors).toContain('policy.recoverAftr: unknown key (did you mean "recoverAfter"?)');
    expect(errors).toContain('regions.r1.gatway: unknown key (did you mean "gateway"?)');
  });

  it('names every mistake with its path', () => {
    const c = example();
    c.regions.r3.failover = ['r1', 'r9'];
    c.regions.r2.role = 'main';
    c.policy.failAfter = '30 seconds';
    c.regions.r1.databases.apim.password = 'hunter2';
    c.records[1].name = c.records[0].name;
    c.records[0].targets.r1.weight = 300;
    const errors = errorsOf(c);
    expect(errors).toEqual(
      expect.arrayContaining([
        'policy.failAfter: "30 seconds" is not a duration; write it like "500ms", "2s", "5m" or "1h"',
        'regions.r1.databases.apim.password: must be a secret reference, env:NAME or file:/absolute/path (inline secrets are not accepted)',
        'records[0].targets.r1.weight: Route 53 weights are 0–255',
      ]),
    );
    // Cross-checks run once the schema passes: fix the schema errors and look again.
    c.policy.failAfter = '30s';
    c.regions.r1.databases.apim.password = 'env:X';
    c.records[0].targets.r1.weight = 100;
    const cross = errorsOf(c);
    expect(cross).toEqual(
      expect.arrayContaining([
        'regions: exactly one region must have role "main" (found 2: r1, r2)',
        'regions.r3.failover[1]: unknown region "r9"',
        'records[1].name: "api.r1.example.com" (A) is already defined at records[0]',
      ]),
    );
  });

  it('checks that every failover region replicates each of the main databases', () => {
    const c = example();
    delete c.regions.r2.databases.shared;
    c.regions.r2.databases.apim.engine = 'mariadb';
    expect(errorsOf(c)).toEqual(
      expect.arrayContaining([
        `regions.r2.databases: missing a replica of the main region's database "shared"`,
        'regions.r2.databases.apim.engine: "mariadb" cannot replicate the main\'s "postgres"',
      ]),
    );
  });

  it('fallbacks must name the main or a failover region, never an edge or itself', () => {
    const c = example();
    c.regions.r3.failover = ['r4', 'r3'];
    c.regions.r4.failover = { split: { r1: 0 } };
    const errors = errorsOf(c);
    expect(errors).toContain('regions.r4.failover.split.r1: split weights are 1–255');
    c.regions.r4.failover = { split: { r1: 10 } };
    expect(errorsOf(c)).toEqual(
      expect.arrayContaining([
        'regions.r3.failover[0]: "r4" is an edge region; traffic fails over only to the main or a failover region',
        'regions.r3.failover[1]: a region cannot fail over to itself',
      ]),
    );
  });

  it('management needs a target in every region that can become main, and no home', () => {
    const c = example();
    const mgmt = c.records.find((r: { class: string }) => r.class === 'management');
    delete mgmt.targets.r2;
    mgmt.home = 'r1';
    expect(errorsOf(c)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^records\[8\]\.home: management records have no home/),
        expect.stringMatching(/^records\[8\]\.targets: management needs a target in "r2"/),
      ]),
    );
  });

  it('automatic promotion with two regions is refused (two sites cannot tell an outage from a partition)', () => {
    const c = example();
    delete c.regions.r3;
    delete c.regions.r4;
    c.records = c.records.filter((r: { name: string }) => !/r3|r4/.test(r.name));
    c.maintenance = [];
    for (const r of c.records)
      for (const t of Object.keys(r.targets)) if (!['r1', 'r2'].includes(t)) delete r.targets[t];
    expect(errorsOf(c)).toEqual([
      expect.stringMatching(/^policy\.promotion\.mode: automatic promotion needs at least three regions/),
    ]);
  });

  it('accepts state.store etcd with its section and the instance region (details: coord-config.test.ts)', () => {
    const c = example();
    c.state = { store: 'etcd', etcd: { endpoints: ['http://127.0.0.1:2379'] } };
    expect(errorsOf(c)).toEqual([expect.stringMatching(/^director\.region: with state\.store "etcd"/)]);
    c.director.region = 'r1';
    expect(parseConfig(c, 'test.yaml').config.state.etcd).toMatchObject({
      prefix: '/switchyard/',
      leaseTtl: 10_000,
    });
  });

  it('reports YAML syntax errors with a line and column', () => {
    try {
      loadConfigText('regions:\n  r1: [\n', 'broken.yaml');
      expect.unreachable();
    } catch (e) {
      expect(isSwitchyardError(e, 'CONFIG_UNREADABLE')).toBe(true);
      expect((e as { details: string[] }).details[0]).toMatch(/^broken\.yaml:\d+:\d+: /);
    }
  });
});

describe('secrets', () => {
  it('resolves env: and file: references and names what is missing', () => {
    expect(resolveSecret('env:SY_TEST', { SY_TEST: 's3cret' })).toBe('s3cret');
    expect(() => resolveSecret('env:SY_MISSING', {})).toThrow('environment variable SY_MISSING is not set');
    expect(() => resolveSecret('file:/nonexistent/secret')).toThrow(
      /secret file \/nonexistent\/secret cannot be read: ENOENT/,
    );
  });
});
