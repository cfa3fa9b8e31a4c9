import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ALERT_KINDS } from '../../src/decide/types.js';
import { ROOT } from '../support/engine.js';
import { markdownAnchors } from '../support/markdown-anchors.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const RULES_FILE = resolve(ROOT, 'deploy/prometheus-alerts.yaml');
const rules = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const runbook = readFileSync(resolve(ROOT, 'docs/runbook.md'), 'utf8');

describe('deploy/prometheus-alerts.yaml', () => {
  it('passes promtool check rules', () => {
    const r = spawnSync('promtool', ['check', 'rules', RULES_FILE], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    expect(`${r.stdout}${r.stderr}`).toMatch(new RegExp(`SUCCESS: ${rules.length} rules found`));
    expect(r.status).toBe(0);
  });

  it('only uses metrics the daemon exports', () => {
    const text = readFileSync(RULES_FILE, 'utf8');
    const used = new Set([...text.matchAll(/\b(switchyard_[a-z_]+)/g)].map((m) => m[1] as string));
    const sources = ['src/metrics.ts', 'src/dns/metrics.ts', 'src/database/metrics.ts']
      .map((f) => readFileSync(resolve(ROOT, f), 'utf8'))
      .join('\n');
    for (const name of used) expect(sources, name).toContain(`'${name}'`);
  });

  it('has the rules for the coordination layer: leader lost, observer discounted, state unwritable', () => {
    const byName = new Map(rules.map((r) => [r.alert, r]));
    expect(byName.get('SwitchyardLeaderLost')?.expr).toMatch(/\bswitchyard_leader\b.*< 1/);
    expect(byName.get('SwitchyardLeaderLost')?.for).toBeDefined();
    expect(byName.get('SwitchyardObserverDiscounted')?.expr).toContain('switchyard_observer_discounted');
    expect(byName.get('SwitchyardStateUnwritable')?.expr).toContain('switchyard_state_unwritable');
    expect(byName.get('SwitchyardStateUnwritable')?.labels?.severity).toBe('critical');
  });

  it('every alert the engine or the daemon raises has a rule', () => {
    const exprs = rules.map((r) => r.expr).join('\n');
    // Kinds with a metric of their own; the rest are switchyard_alerts_active{kind="…"}.
    const own: Record<string, string> = {
      frozen: 'switchyard_frozen',
      'promotion-pending': 'switchyard_promotion_pending',
      'state-unwritable': 'switchyard_state_unwritable',
      'dns-failing': 'switchyard_dns_api_failing',
      'coordination-unavailable': 'switchyard_coordination_available',
      'no-leader': 'switchyard_leader',
      'observer-discounted': 'switchyard_observer_discounted',
    };
    const missing = ALERT_KINDS.filter((k) =>
      own[k] ? !exprs.includes(own[k]) : !exprs.includes(`switchyard_alerts_active{kind="${k}"}`),
    );
    expect(missing).toEqual([]);
  });

  it('the runbook links in alert messages (src/) resolve to sections of docs/runbook.md', () => {
    const anchors = markdownAnchors(runbook);
    const src: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) src.push(readFileSync(p, 'utf8'));
      }
    };
    walk(resolve(ROOT, 'src'));
    const linked = [
      ...new Set(src.flatMap((t) => [...t.matchAll(/docs\/runbook\.md#([\w-]+)/g)].map((m) => m[1]))),
    ];
    expect(linked.length).toBeGreaterThan(0);
    expect(linked.filter((a) => !anchors.has(a ?? ''))).toEqual([]);
  });

  it('every rule links its own section of docs/runbook.md, and that section exists', () => {
    const anchors = markdownAnchors(runbook);
    expect(rules.length).toBeGreaterThan(10);
    for (const r of rules) {
      const url = r.annotations?.runbook_url;
      expect(url, `${r.alert}: runbook_url`).toBeDefined();
      const [path, fragment] = (url ?? '').split('#');
      expect(path, r.alert).toBe('docs/runbook.md');
      expect(fragment, r.alert).toBe(r.alert.toLowerCase());
      expect(anchors.has(fragment ?? ''), `${r.alert}: docs/runbook.md has no section #${fragment}`).toBe(
        true,
      );
    }
  });

  it("the runbook's own links to its sections resolve", () => {
    const anchors = markdownAnchors(runbook);
    const links = [...runbook.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });
});
