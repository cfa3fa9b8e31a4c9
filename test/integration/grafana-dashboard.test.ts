import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { StatusDocument } from '../../src/server/status.js';
import { type DemoDaemon, startDemoDaemon } from '../support/demo-daemon-live.js';
import { ROOT } from '../support/engine.js';
import { type EtcdDemoDaemons, startEtcdDemoDaemons } from '../support/etcd-demo-daemons.js';
import { removeDir, tempDir, waitFor } from '../support/proc.js';
import { exportedSeries, metricNames, substituteGrafanaVariables } from '../support/promql.js';

/**
 * deploy/grafana/switchyard.json names only metrics switchyard exports — checked against live
 * scrapes of /metrics from real daemons (the demo world, in process: one standalone, and three
 * instances on a real three-member etcd cluster for what only etcd mode exports), not against a
 * list — every query is valid PromQL (promtool parses it as a recording rule), and the leader and
 * coordination panels, evaluated by promtool on the etcd instances' scrapes, show what the
 * instances' own /v1/status says.
 */
interface Target {
  expr?: string;
  refId?: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  description?: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  panels?: Panel[];
  gridPos?: { h: number; w: number; x: number; y: number };
  repeat?: string;
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: {
    list: { type: string; name: string; query?: string | { query: string }; definition?: string }[];
  };
  annotations: { list: { expr?: string; datasource?: { uid: string } }[] };
}

const dashboard = JSON.parse(
  readFileSync(resolve(ROOT, 'deploy/grafana/switchyard.json'), 'utf8'),
) as Dashboard;
const allPanels = (ps: Panel[]): Panel[] => ps.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
const panels = allPanels(dashboard.panels);

/** Every PromQL expression in the dashboard, with where it came from. */
function queries(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const p of panels)
    for (const t of p.targets ?? [])
      if (t.expr) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    // label_values(<selector>, <label>) / query_result(<expr>): the selector is PromQL, the label is not.
    const m = /^\s*label_values\((.*),\s*\w+\s*\)\s*$/.exec(q) ?? /^\s*query_result\((.*)\)\s*$/.exec(q);
    out.push({ where: `variable $${v.name}`, expr: m?.[1] ?? q });
  }
  for (const a of dashboard.annotations.list) if (a.expr) out.push({ where: 'annotation', expr: a.expr });
  return out;
}

/** Series Prometheus itself adds to every target: allowed beside switchyard's own. */
const PROMETHEUS_SERIES = new Set(['up']);

let demo: DemoDaemon;
let cluster: EtcdDemoDaemons;
let exposition = '';
/** Per etcd-mode instance: its address (the scrape's `instance` label), scrape and status. */
let scrapes: { instance: string; text: string; status: StatusDocument }[] = [];
let leaderInstance = '';

beforeAll(async () => {
  [demo, cluster] = await Promise.all([startDemoDaemon(), startEtcdDemoDaemons({ name: 'dashboard' })]);
  await waitFor('ready', async () => (await fetch(`${demo.origin}/readyz`)).status === 200, 30_000, 200);
  exposition = await (await fetch(`${demo.origin}/metrics`)).text();
  const leader = await cluster.settled(60_000);
  leaderInstance = new URL(leader.origin).host;
  scrapes = await Promise.all(
    cluster.instances.map(async (i) => ({
      instance: new URL(i.origin).host,
      text: await i.metrics(),
      status: await i.status(),
    })),
  );
}, 120_000);

afterAll(async () => {
  await demo?.stop();
  await cluster?.stop();
});

describe('deploy/grafana/switchyard.json', () => {
  it('names only metrics a live switchyard exports (standalone or on etcd)', () => {
    const exported = new Set(
      [exposition, ...scrapes.map((x) => x.text)].flatMap((t) => [...exportedSeries(t)]),
    );
    expect(exported.has('switchyard_leader_lease_remaining_seconds')).toBe(true);
    expect(exported.has('switchyard_observer_discounted')).toBe(true);
    expect(exported.has('switchyard_component_status')).toBe(true);
    expect(exported.has('switchyard_probe_duration_seconds_bucket')).toBe(true);
    const unknown: string[] = [];
    const used = new Set<string>();
    for (const q of queries())
      for (const name of metricNames(q.expr)) {
        used.add(name);
        if (exported.has(name) || PROMETHEUS_SERIES.has(name)) continue;
        unknown.push(`${q.where}: ${name}`);
      }
    expect(unknown).toEqual([]);
    expect(used.size).toBeGreaterThan(25);
  });

  it('covers what an operator looks for', () => {
    const all = queries()
      .map((q) => q.expr)
      .join('\n');
    for (const metric of [
      'switchyard_component_status', // regions and components up/down
      'switchyard_desired_weight', // weights per record: desired
      'switchyard_dns_weight', // … and live
      'switchyard_database_promotions_total', // failovers and promotions
      'switchyard_epoch',
      'switchyard_dns_api_calls_total', // DNS API errors and throttling
      'switchyard_dns_api_retries_total',
      'switchyard_probe_duration_seconds_bucket', // probe latency
      'switchyard_replication_lag_seconds', // replication lag
      'switchyard_leader', // the leader (once on etcd)
      'switchyard_alerts_active', // alerts active
    ])
      expect(all, metric).toContain(metric);
    expect(all).toMatch(/outcome="throttled"/);
    const leader = panels.find((p) => p.targets?.some((t) => t.expr?.includes('switchyard_leader')));
    expect(leader?.description).toMatch(/etcd/);
  });

  it('every query is valid PromQL (promtool parses it)', async () => {
    const dir = await tempDir('sy-dash-');
    try {
      const rules = queries().map((q, i) => ({
        record: `dashboard:query_${i}`,
        expr: substituteGrafanaVariables(q.expr),
      }));
      const file = join(dir, 'queries.yaml');
      writeFileSync(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
      const r = spawnSync('promtool', ['check', 'rules', file], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`).toContain(`SUCCESS: ${rules.length} rules found`);
      expect(r.status).toBe(0);
    } finally {
      await removeDir(dir);
    }
  });

  it("leader and coordination panels, evaluated by promtool on three etcd instances' scrapes, show what their status says", async () => {
    // What each instance says of itself: exactly one leads; every one reaches etcd and counts
    // every observer's region; nobody is discounted.
    const leaders = scrapes.filter((x) => x.status.leader?.self === true).map((x) => x.instance);
    expect(leaders).toEqual([leaderInstance]);
    for (const x of scrapes) expect(x.status.coordination.observerRegions).toBe(3);
    const observers = (scrapes[0]?.status.observers ?? []).map((o) => o.id).sort();
    expect(observers).toEqual(['sy-r2', 'sy-r3', 'sy-r4']);
    const lease = sample(
      scrapes.find((x) => x.instance === leaderInstance)?.text ?? '',
      'switchyard_leader_lease_remaining_seconds',
    );
    expect(lease).toBeGreaterThan(0);
    expect(lease).toBeLessThanOrEqual(3);

    const query = (title: string) => {
      const p = panels.find((x) => x.title === title);
      expect(p, title).toBeDefined();
      return substituteGrafanaVariables(p?.targets?.[0]?.expr ?? '');
    };
    const each = (v: (x: (typeof scrapes)[number]) => number) =>
      scrapes.map((x) => ({ labels: `{instance="${x.instance}"}`, value: v(x) }));
    const expectations = [
      { expr: query('Leader'), exp_samples: [{ labels: `{instance="${leaderInstance}"}`, value: 1 }] },
      { expr: query('Instances acting'), exp_samples: [{ labels: '{}', value: 1 }] },
      {
        expr: query('Leader lease remaining'),
        exp_samples: scrapes
          .filter((x) => sample(x.text, 'switchyard_leader_lease_remaining_seconds') !== undefined)
          .map((x) => ({
            labels: `{instance="${x.instance}"}`,
            value: sample(x.text, 'switchyard_leader_lease_remaining_seconds'),
          })),
      },
      { expr: query('etcd reachable, per instance'), exp_samples: each(() => 1) },
      {
        expr: query('Observer regions counted'),
        exp_samples: each((x) => x.status.coordination.observerRegions),
      },
      {
        expr: query('Observers discounted'),
        exp_samples: observers.map((o) => ({ labels: `{observer="${o}"}`, value: 0 })),
      },
    ];
    const names = new Set(expectations.flatMap((e) => metricNames(e.expr)));
    const input_series = scrapes.flatMap((x) =>
      samples(x.text)
        .filter((m) => names.has(m.name))
        .map((m) => ({
          series: `${m.name}{${[...m.labels, 'job="switchyard"', `instance="${x.instance}"`].join(',')}}`,
          values: `${m.value}x4`,
        })),
    );
    const dir = await tempDir('sy-dash-eval-');
    try {
      const file = join(dir, 'coordination-test.yaml');
      writeFileSync(
        file,
        stringify({
          rule_files: [],
          evaluation_interval: '15s',
          tests: [
            {
              interval: '15s',
              input_series,
              promql_expr_test: expectations.map((e) => ({ ...e, eval_time: '30s' })),
            },
          ],
        }),
      );
      const r = spawnSync('promtool', ['test', 'rules', file], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
      expect(r.status).toBe(0);
    } finally {
      await removeDir(dir);
    }
  });

  it('is a well-formed dashboard: a Prometheus datasource variable, unique ids, every panel placed and queried', () => {
    expect(dashboard.uid).toBe('switchyard');
    const ds = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(ds?.name).toBe('datasource');
    expect(ds?.query).toBe('prometheus');
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const vars = new Set(dashboard.templating.list.map((v) => v.name));
    for (const p of panels) {
      expect(p.gridPos, p.title).toBeDefined();
      if (p.type === 'row') continue;
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a template
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      if (p.repeat) expect(vars.has(p.repeat), p.title).toBe(true);
      for (const t of p.targets ?? [])
        for (const m of (t.expr ?? '').matchAll(/\$(\w+)/g))
          if (!m[1]?.startsWith('__')) expect(vars.has(m[1] ?? ''), `${p.title}: $${m[1]}`).toBe(true);
    }
  });
});

describe('PromQL metric names', () => {
  it('finds selected metrics and skips functions, keywords, labels, ranges and strings', () => {
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le, target) (rate(switchyard_probe_duration_seconds_bucket{job=~"$job",target!="x y"}[$__rate_interval])))',
      ),
    ).toEqual(['switchyard_probe_duration_seconds_bucket']);
    expect(metricNames('time() - max(a_metric{x="y"}) > 60 and on (instance) b:recorded offset 5m')).toEqual([
      'a_metric',
      'b:recorded',
    ]);
    expect(
      metricNames('max by (kind) (switchyard_alerts_active) > 0 unless ignoring (kind) bool 1e3'),
    ).toEqual(['switchyard_alerts_active']);
  });
});

/** The samples of an exposition: name, label pairs as written, value. */
function samples(text: string): { name: string; labels: string[]; value: number }[] {
  const out: { name: string; labels: string[]; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m?.[1] || m[3] === undefined) continue;
    const labels = m[2]
      ? [...m[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`)
      : [];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of an unlabelled sample, if the exposition has it. */
function sample(text: string, name: string): number | undefined {
  return samples(text).find((x) => x.name === name && x.labels.length === 0)?.value;
}
