import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/engine.js';

describe('deploy/prometheus-alerts.yaml', () => {
  it('passes promtool check rules', () => {
    const r = spawnSync('promtool', ['check', 'rules', resolve(ROOT, 'deploy/prometheus-alerts.yaml')], {
      encoding: 'utf8',
    });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`).toMatch(/SUCCESS: \d+ rules found/);
    expect(r.status).toBe(0);
  });

  it('only uses metrics the daemon exports', () => {
    const rules = readFileSync(resolve(ROOT, 'deploy/prometheus-alerts.yaml'), 'utf8');
    const used = new Set([...rules.matchAll(/\b(switchyard_[a-z_]+)/g)].map((m) => m[1]));
    const sources = ['src/metrics.ts', 'src/dns/metrics.ts', 'src/database/metrics.ts']
      .map((f) => readFileSync(resolve(ROOT, f), 'utf8'))
      .join('\n');
    for (const name of used) expect(sources, name).toContain(`'${name}'`);
  });
});
