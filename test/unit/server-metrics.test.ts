import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/decide/types.js';
import { createCoreMetrics } from '../../src/metrics.js';
import { ProbeScheduler } from '../../src/probe/scheduler.js';
import { FakeClock } from '../../src/util/clock.js';
import { promtoolCheck } from '../support/promtool.js';
import { fixtureTopology } from '../support/topology-fixture.js';

function plan(): Plan {
  return {
    main: 'r2',
    epoch: 2,
    records: [
      {
        key: 'api.r1.example.com/A',
        name: 'api.r1.example.com',
        class: 'api',
        type: 'A',
        weights: { r1: 0, r2: 100 },
        dependsOn: [],
        changed: true,
        reason: 'r1 gateway down for 30s',
      },
    ],
    actions: [],
    panic: { active: false },
    reasons: ['r1 gateway down for 30s'],
    alerts: [{ kind: 'main-unavailable', subject: 'r1', message: 'main region r1 is down' }],
    serving: {
      r1: { api: false, auth: false, management: false },
      r2: { api: true, auth: true, management: true },
    },
    next: { epoch: 2, main: 'r2', out: {}, weights: {}, promotion: undefined },
  } as Plan;
}

function metricsFixture() {
  const registry = new Registry();
  const metrics = createCoreMetrics(registry, {
    topology: fixtureTopology(),
    targets: ['r1/gateway/health', 'r2/gateway/health', 'r1/database.apim/sql'],
  });
  return { registry, metrics };
}

describe('core metrics', () => {
  it('passes promtool check metrics when freshly initialised', async () => {
    const { registry } = metricsFixture();
    const r = promtoolCheck(await registry.metrics());
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('passes promtool check metrics after every update helper ran', async () => {
    const { registry, metrics } = metricsFixture();
    metrics.observeProbe('r1/gateway/health', { ok: true, latencyMs: 12 });
    metrics.observeProbe('r2/gateway/health', { ok: false, latencyMs: 2000 });
    metrics.setHealth({
      r1: { gateway: { status: 'down', since: 0 }, databases: { apim: { status: 'up', since: 0 } } },
      r2: {
        gateway: { status: 'up', since: 0 },
        keyManager: { status: 'unknown', since: 0 },
        databases: { apim: { status: 'up', since: 0, role: 'replica', lagSeconds: 1.5, lagBytes: 4096 } },
      },
    });
    metrics.setPlan(plan());
    metrics.setState({
      epoch: 2,
      main: 'r2',
      out: {},
      weights: { 'api.r1.example.com/A': { r1: 0, r2: 100 } },
    });
    metrics.setOverrides({ drained: ['r3'], frozen: true, routes: {} });
    metrics.countAction('dns', 'done');
    metrics.countAction('promote', 'failed');
    metrics.countError('DNS_UNAVAILABLE');
    metrics.setReady(true);
    const text = await registry.metrics();
    const r = promtoolCheck(text);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);

    expect(text).toContain('switchyard_probe_success{target="r1/gateway/health"} 1');
    expect(text).toContain('switchyard_probe_success{target="r2/gateway/health"} 0');
    expect(text).toContain(
      'switchyard_probe_duration_seconds_bucket{le="0.025",region="r1",component="gateway"} 1',
    );
    expect(text).toContain('switchyard_component_status{region="r1",component="gateway"} 0');
    expect(text).toContain('switchyard_component_status{region="r2",component="keyManager"} -1');
    expect(text).toContain('switchyard_component_status{region="r3",component="gateway"} -1');
    expect(text).toContain('switchyard_replication_lag_seconds{region="r2",database="apim"} 1.5');
    expect(text).toContain('switchyard_replication_lag_bytes{region="r2",database="apim"} 4096');
    expect(text).not.toContain('switchyard_replication_lag_seconds{region="r1"');
    expect(text).toContain('switchyard_region_serving{region="r2",class="management"} 1');
    expect(text).toContain('switchyard_region_serving{region="r1",class="api"} 0');
    expect(text).toContain('switchyard_desired_weight{record="api.r1.example.com/A",region="r2"} 100');
    expect(text).toContain('switchyard_main_region{region="r2"} 1');
    expect(text).toContain('switchyard_main_region{region="r1"} 0');
    expect(text).toContain('switchyard_epoch 2');
    expect(text).toContain('switchyard_decisions_total{outcome="changed"} 1');
    expect(text).toContain('switchyard_actions_total{type="dns",outcome="done"} 1');
    expect(text).toContain('switchyard_actions_total{type="fence",outcome="abandoned"} 0');
    expect(text).toContain('switchyard_errors_total{kind="DNS_UNAVAILABLE"} 1');
    expect(text).toContain('switchyard_errors_total{kind="internal"} 0');
    expect(text).toContain('switchyard_alerts_active{kind="main-unavailable"} 1');
    expect(text).toContain('switchyard_alerts_active{kind="panic"} 0');
    expect(text).toContain('switchyard_region_drained{region="r3"} 1');
    expect(text).toContain('switchyard_frozen 1');
    expect(text).toContain('switchyard_ready 1');
    expect(text).toContain('switchyard_process_cpu_seconds_total');
  });

  it('initialises known label sets to 0 before any event', async () => {
    const { registry } = metricsFixture();
    const text = await registry.metrics();
    expect(text).toContain('switchyard_probe_success{target="r1/database.apim/sql"} 0');
    expect(text).toContain('switchyard_probe_duration_seconds_count{region="r1",component="gateway"} 0');
    expect(text).toContain('switchyard_main_region{region="r1"} 1');
    expect(text).toContain('switchyard_desired_weight{record="manage.example.com/A",region="r1"} 100');
    expect(text).toContain('switchyard_decisions_total{outcome="unchanged"} 0');
  });

  it('stamps the last decision with the injected clock', async () => {
    const registry = new Registry();
    const metrics = createCoreMetrics(
      registry,
      {},
      { defaultMetrics: false, clock: { wall: () => 1_700_000_000_000 } },
    );
    metrics.setPlan(plan());
    expect(await registry.metrics()).toContain('switchyard_last_decision_timestamp_seconds 1700000000');
  });

  it('uses its own registry: two instances do not collide', () => {
    expect(() => {
      metricsFixture();
      metricsFixture();
    }).not.toThrow();
  });

  it('promtool would flag a bad exposition (the check is live)', () => {
    const r = promtoolCheck('# HELP bad_counter x\n# TYPE bad_counter counter\nbad_counter 1\n');
    expect(r.output).not.toBe('');
  });
});

/** The series of one metric family in an exposition. */
function series(text: string, family: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(family) && !l.startsWith('#'));
}

function targetsOf(n: number) {
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({ id: `r1.gateway.gw-${i}`, region: 'r1', component: 'gateway' });
    out.push({ id: `r2.keyManager.km-${i}`, region: 'r2', component: 'keyManager' });
  }
  return out;
}

describe('probe metrics: cardinality', () => {
  it('by default one duration histogram per region and component kind, whatever the number of targets', async () => {
    for (const n of [1, 10, 100]) {
      const registry = new Registry();
      const m = createCoreMetrics(registry, { targets: targetsOf(n) }, { defaultMetrics: false });
      for (const t of targetsOf(n)) m.observeProbe(t.id, { ok: true, latencyMs: 7 });
      const text = await registry.metrics();
      // 2 (region, component) pairs × (11 buckets + +Inf + sum + count)
      expect(series(text, 'switchyard_probe_duration_seconds')).toHaveLength(2 * 14);
      expect(text).toContain(`switchyard_probe_duration_seconds_count{region="r1",component="gateway"} ${n}`);
      // and one success gauge per target
      expect(series(text, 'switchyard_probe_success')).toHaveLength(2 * n);
      expect(promtoolCheck(text).output).toBe('');
    }
  });

  it('metrics.probeHistograms: true adds the target label: 14 histogram series per target', async () => {
    const registry = new Registry();
    const m = createCoreMetrics(
      registry,
      { targets: targetsOf(10) },
      { defaultMetrics: false, probeHistograms: true },
    );
    m.observeProbe('r2.keyManager.km-3', { ok: false, latencyMs: 2_000 });
    const text = await registry.metrics();
    expect(series(text, 'switchyard_probe_duration_seconds')).toHaveLength(20 * 14);
    expect(text).toContain(
      'switchyard_probe_duration_seconds_bucket{le="2.5",region="r2",component="keyManager",target="r2.keyManager.km-3"} 1',
    );
    expect(text).toContain('switchyard_probe_success{target="r2.keyManager.km-3"} 0');
    expect(promtoolCheck(text).output).toBe('');
  });

  it('a reload that drops targets drops their series', async () => {
    const registry = new Registry();
    const m = createCoreMetrics(
      registry,
      { targets: targetsOf(3) },
      { defaultMetrics: false, probeHistograms: true },
    );
    m.init({ targets: targetsOf(1) });
    const text = await registry.metrics();
    expect(series(text, 'switchyard_probe_success')).toHaveLength(2);
    expect(text).not.toContain('gw-2');
  });
});

describe('probe scheduler metrics', () => {
  it('exports runs, sheds, overlaps, timeouts, abandoned runs, lateness and backlog; promtool-clean', async () => {
    const clock = new FakeClock(0);
    const registry = new Registry();
    const m = createCoreMetrics(registry, {}, { defaultMetrics: false });
    const s = new ProbeScheduler({
      clock,
      random: () => 0,
      onResult: () => undefined,
      onLateness: m.observeLateness,
    });
    m.trackScheduler(s);
    s.add({
      id: 'r1.gateway.a',
      intervalMs: 1_000,
      timeoutMs: 100,
      probe: {
        run: () => new Promise(() => undefined), // never settles: timeout, then abandoned
        reset: () => undefined,
        close: async () => undefined,
      },
    });
    s.start();
    for (let i = 0; i < 25; i++) await clock.advanceAsync(100);
    const text = await registry.metrics();
    expect(text).toContain('switchyard_probe_runs_total 3');
    expect(text).toContain('switchyard_probe_timeouts_total 3');
    expect(text).toContain('switchyard_probe_abandoned_total 3');
    expect(text).toContain('switchyard_probe_shed_total 0');
    expect(text).toContain('switchyard_probe_overlaps_skipped_total 0');
    expect(text).toContain('switchyard_probe_lateness_seconds_count 3');
    expect(text).toContain('switchyard_probe_scheduler_behind_seconds 0');
    expect(text).toContain('switchyard_probe_in_flight 0');
    expect(promtoolCheck(text).output).toBe('');
    // Counters only move forward between scrapes.
    await clock.advanceAsync(1_000);
    expect(await registry.metrics()).toContain('switchyard_probe_runs_total 4');
    await s.close();
  });
});
