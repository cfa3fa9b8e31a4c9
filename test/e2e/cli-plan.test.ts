import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli as spawnCli } from '../support/cli.js';
import { EXAMPLE } from '../support/engine.js';
import { runCliInProcess } from '../support/run-cli.js';

interface PlanJson {
  main: string;
  epoch: number;
  records: {
    name: string;
    class: string;
    home?: string;
    weights: Record<string, number>;
    dependsOn: string[];
    changed: boolean;
  }[];
  actions: { type: string; region: string; force?: boolean }[];
  reasons: string[];
  alerts: { kind: string }[];
}

async function planOf(scenario: string): Promise<PlanJson> {
  const r = await runCliInProcess([
    'plan',
    '--config',
    EXAMPLE,
    '--scenario',
    `config/scenarios/${scenario}.yaml`,
    '--json',
  ]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as PlanJson;
}
const to = (p: PlanJson, name: string) =>
  Object.entries(p.records.find((r) => r.name === name)?.weights ?? {})
    .filter(([, w]) => w > 0)
    .map(([id]) => id)
    .sort();

describe('switchyard validate', () => {
  it('exits 0 with a one-line summary for the example', async () => {
    const r = spawnCli(['validate', EXAMPLE]); // smoke test: the real entry point, as a process
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toMatch(
      /valid — 4 regions r1\(main\) r2\(failover\) r3\(edge\) r4\(edge\), 11 probe targets, 9 records/,
    );
  });

  it('exits 1 and names each mistake with its path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-validate-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      readFileSync(EXAMPLE, 'utf8')
        .replace('failAfter: 30s', 'failAfter: soon')
        .replace('failover: [r1, r2]', 'failover: [r1, r9]')
        .replace('recoverAfter: 2m', 'recoverAftr: 2m'),
    );
    const r = await runCliInProcess(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('policy.failAfter: "soon" is not a duration');
    expect(r.stderr).toContain('policy.recoverAftr: unknown key (did you mean "recoverAfter"?)');
    const fixed = join(dir, 'cross.yaml');
    writeFileSync(fixed, readFileSync(EXAMPLE, 'utf8').replace('failover: [r1, r2]', 'failover: [r1, r9]'));
    const r2 = await runCliInProcess(['validate', fixed]);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('regions.r3.failover[1]: unknown region "r9"');
  });

  it('exits 1 for a missing file and 2 for a usage error', async () => {
    expect(await runCliInProcess(['validate', '/nonexistent.yaml'])).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('ENOENT'),
    });
    expect((await runCliInProcess(['validate'])).code).toBe(2);
    expect((await runCliInProcess(['plan', '--config', EXAMPLE])).code).toBe(2);
  });
});

describe('switchyard plan: the seed article answers', () => {
  it('main down, replica within bounds: 1→2 with promotion, management after it', async () => {
    const p = await planOf('01-r1-main-down');
    expect(p.main).toBe('r2');
    expect(p.actions).toMatchObject([{ type: 'promote', region: 'r2' }]);
    expect(to(p, 'api.r1.example.com')).toEqual(['r2']);
    expect(to(p, 'auth.r1.example.com')).toEqual(['r2']);
    expect(p.records.find((r) => r.class === 'management')).toMatchObject({
      weights: { r1: 0, r2: 100 },
      dependsOn: ['promote:r2'],
    });
    expect(p.records.find((r) => r.name === 'api.r1.example.com')).toMatchObject({ home: 'r1' });
    expect(p.records.find((r) => r.class === 'management')).not.toHaveProperty('home');
    expect(p.reasons[0]).toBe('r1: gateway, keyManager, database down for 1h');
  });

  it('main down, replica lagging: traffic moves, no promotion, management stays', async () => {
    const p = await planOf('02-r1-main-down-lagging');
    expect(p.main).toBe('r1');
    expect(p.actions).toEqual([]);
    expect(to(p, 'api.r1.example.com')).toEqual(['r2']);
    expect(to(p, 'manage.example.com')).toEqual(['r1']);
    expect(p.alerts.map((a) => a.kind)).toContain('promotion-blocked');
  });

  it('each region down alone', async () => {
    const r2 = await planOf('03-r2-failover-down');
    expect([to(r2, 'api.r2.example.com'), to(r2, 'auth.r2.example.com'), r2.actions]).toEqual([
      ['r1'],
      ['r1'],
      [],
    ]);
    expect(to(await planOf('04-r3-edge-down'), 'api.r3.example.com')).toEqual(['r1']);
    expect(to(await planOf('05-r4-edge-down'), 'api.r4.example.com')).toEqual(['r1', 'r2']);
  });

  it('two regions down: main and an edge whose first choice is the main', async () => {
    const p = await planOf('06-r1-and-r3-down');
    expect(to(p, 'api.r3.example.com')).toEqual(['r2']);
    expect(to(p, 'api.r1.example.com')).toEqual(['r2']);
    expect(p.actions).toMatchObject([{ type: 'promote', region: 'r2' }]);
  });

  it('everything down: the panic guard changes nothing', async () => {
    const p = await planOf('07-everything-down');
    expect(p.actions).toEqual([]);
    expect(p.main).toBe('r1');
    expect(to(p, 'api.r1.example.com')).toEqual(['r1']);
    expect(p.alerts.map((a) => a.kind)).toContain('panic');
  });

  it('a drained region', async () => {
    const p = await planOf('08-r3-drained');
    expect(to(p, 'api.r3.example.com')).toEqual(['r1']);
    expect(p.actions).toEqual([]);
  });

  it('the old main comes back after a failover: fenced, not main, api back, auth away', async () => {
    const p = await planOf('09-old-main-returns');
    expect(p.main).toBe('r2');
    expect(p.actions).toMatchObject([{ type: 'fence', region: 'r1' }]);
    expect(to(p, 'api.r1.example.com')).toEqual(['r1']);
    expect(to(p, 'auth.r1.example.com')).toEqual(['r2']);
    expect(to(p, 'manage.example.com')).toEqual(['r2']);
  });

  it('a blip shorter than failAfter and a restart with no evidence move nothing', async () => {
    for (const s of ['10-r1-blip', '11-restart-no-evidence']) {
      const p = await planOf(s);
      expect(p.actions).toEqual([]);
      expect(to(p, 'api.r1.example.com')).toEqual(['r1']);
    }
  });

  it('8.1 a restart on the state after a failover, with no evidence: nothing returns to the old main', async () => {
    // The case: main r2, epoch 1, out { r1: [api] }, auth away from r1, everything unknown.
    const p = await planOf('13-restart-after-failover');
    expect(p.main).toBe('r2');
    expect(p.epoch).toBe(1);
    expect(p.actions).toEqual([]);
    expect(p.records.filter((r) => r.changed).map((r) => r.name)).toEqual([]);
    for (const name of [
      'auth.r1.example.com',
      'auth.r3.example.com',
      'auth.r4.example.com',
      'manage.example.com',
    ])
      expect(to(p, name), name).toEqual(['r2']);
    expect(to(p, 'api.r1.example.com')).toEqual(['r2']);
  });

  it('a forced operator failover says how much data may be lost', async () => {
    const p = await planOf('12-manual-failover-forced');
    expect(p.actions).toMatchObject([{ type: 'promote', region: 'r2', force: true }]);
    expect(p.reasons.join('\n')).toMatch(/45s behind.*may be lost/);
  });

  it('prints a readable table by default, and rejects a bad scenario with paths', async () => {
    const r = await runCliInProcess(['plan', '-c', EXAMPLE, '-s', 'config/scenarios/01-r1-main-down.yaml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^main: r2 {3}epoch: 1/);
    expect(r.stdout).toMatch(/manage\.example\.com\s+management\s+0\s+100\s+-\s+-\s+promote:r2\s+changed/);
    const dir = mkdtempSync(join(tmpdir(), 'sy-plan-'));
    const bad = join(dir, 's.yaml');
    writeFileSync(bad, 'down: [r9.gateway, r1.router]\nelapsed: forever\n');
    const e = await runCliInProcess(['plan', '-c', EXAMPLE, '-s', bad]);
    expect(e.code).toBe(1);
    expect(e.stderr).toContain('elapsed: "forever" is not a duration');
    expect(e.stderr).toContain('down[1]');
    writeFileSync(bad, 'down: [r9.gateway]\n');
    expect((await runCliInProcess(['plan', '-c', EXAMPLE, '-s', bad])).stderr).toContain(
      'down[0]: unknown region "r9"',
    );
  });

  it('the table: every column has a header; "-" means no target there, as in status; change is against the scenario state', async () => {
    const r = await runCliInProcess([
      'plan',
      '-c',
      EXAMPLE,
      '-s',
      'config/scenarios/09-old-main-returns.yaml',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^record\s+class\s+home\s+r1\s+r2\s+r3\s+r4\s+waits for\s+change$/m);
    expect(r.stdout).toContain(
      '- = no target in that region; blank = none; change = differs from the scenario',
    );
    // r1 returns home for api (it was held out by state.out): marked; auth stays away: not marked.
    expect(r.stdout).toMatch(/^api\.r1\.example\.com\s+api\s+r1\s+100\s+0\s+-\s+-\s+changed$/m);
    expect(r.stdout).toMatch(/^auth\.r1\.example\.com\s+auth\s+r1\s+0\s+100\s+-\s+-$/m);
    expect(r.stdout).toMatch(/^auth\.r3\.example\.com\s+auth\s+r3\s+0\s+100\s+-\s+-$/m);
  });

  it('a scenario database described as role: primary is writable unless it says otherwise', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-plan-'));
    const s = join(dir, 'primary.yaml');
    writeFileSync(s, 'database:\n  r2: { role: primary }\n');
    const p = JSON.parse(
      (await runCliInProcess(['plan', '-c', EXAMPLE, '-s', s, '--json'])).stdout,
    ) as PlanJson;
    // A writable primary outside the main is a split-brain: fenced.
    expect(p.actions).toMatchObject([{ type: 'fence', region: 'r2' }]);
    writeFileSync(s, 'database:\n  r2: { role: primary, writable: false }\n');
    const ro = JSON.parse(
      (await runCliInProcess(['plan', '-c', EXAMPLE, '-s', s, '--json'])).stdout,
    ) as PlanJson;
    expect(ro.actions).toEqual([]);
  });
});
