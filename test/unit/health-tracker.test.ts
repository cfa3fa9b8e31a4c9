import { describe, expect, it } from 'vitest';
import { configSchema } from '../../src/config/schema.js';
import { buildHealthTargets } from '../../src/health/targets.js';
import { type HealthChange, HealthTracker } from '../../src/health/tracker.js';
import type { DatabaseProbeResult, ProbeResult } from '../../src/probe/types.js';
import { FakeClock } from '../../src/util/clock.js';

const config = configSchema.parse({
  probes: { interval: '5s', timeout: '2s', rise: 2, fall: 3 },
  regions: {
    r1: {
      role: 'main',
      gateway: {
        minHealthy: 2,
        checks: [
          { name: 'gw-a', http: { url: 'http://10.0.0.1/health' } },
          { name: 'gw-b', http: { url: 'http://10.0.0.2/health' } },
          { name: 'gw-c', http: { url: 'http://10.0.0.3/health' }, fall: 1, interval: '10s' },
        ],
      },
      keyManager: { checks: [{ name: 'jwks', http: { url: 'https://10.0.0.9/oauth2/jwks' } }] },
      databases: {
        apim: { engine: 'postgres', host: 'db1', database: 'apim', user: 'sy', rise: 1, fall: 1 },
      },
    },
    r3: { role: 'edge', gateway: { checks: [{ name: 'tcp', tcp: { host: '127.0.0.1', port: 8243 } }] } },
  },
});

const ok = (at: number, detail = '200 in 5ms'): ProbeResult => ({
  ok: true,
  at,
  latencyMs: 5,
  detail,
  status: 200,
});
const bad = (at: number, detail = 'timeout after 2s'): ProbeResult => ({
  ok: false,
  at,
  latencyMs: 2_000,
  detail,
  error: 'timeout',
});

describe('buildHealthTargets', () => {
  it('lists every check and database with effective timing from probes defaults', () => {
    const targets = buildHealthTargets(config);
    expect(targets.map((t) => t.id)).toEqual([
      'r1.gateway.gw-a',
      'r1.gateway.gw-b',
      'r1.gateway.gw-c',
      'r1.keyManager.jwks',
      'r1.database.apim',
      'r3.gateway.tcp',
    ]);
    expect(targets[0]).toMatchObject({
      intervalMs: 5_000,
      timeoutMs: 2_000,
      rise: 2,
      fall: 3,
      minHealthy: 2,
      jitter: 0.1,
      maxBodyBytes: 65_536,
    });
    expect(targets[2]).toMatchObject({ intervalMs: 10_000, fall: 1 });
    expect(targets[4]).toMatchObject({
      component: 'database',
      name: 'apim',
      rise: 1,
      fall: 1,
      minHealthy: 1,
    });
  });
});

describe('HealthTracker', () => {
  function setup() {
    const clock = new FakeClock(1_000_000);
    const changes: HealthChange[] = [];
    const h = HealthTracker.fromConfig(config, { clock, onChange: (c) => changes.push(c) });
    return { clock, h, changes };
  }

  it('everything is unknown at start, since the tracker began, with no check time', () => {
    const { h, clock } = setup();
    const v = h.view();
    const start = clock.monotonic();
    expect(v.r1?.gateway).toMatchObject({ status: 'unknown', since: start, checkedAt: undefined });
    expect(v.r1?.databases?.apim).toMatchObject({ status: 'unknown', since: start });
    expect(v.r3?.gateway?.status).toBe('unknown');
    expect(h.targets().every((t) => t.status === 'unknown')).toBe(true);
    expect(h.allProbed()).toBe(false);
  });

  it('a component is up once minHealthy targets have risen; since is when that happened', () => {
    const { h, changes } = setup();
    const t = 1_000_000;
    for (const id of ['r1.gateway.gw-a', 'r1.gateway.gw-b']) h.record(id, ok(t));
    expect(h.view().r1?.gateway?.status).toBe('unknown');
    h.record('r1.gateway.gw-a', ok(t + 5_000));
    expect(h.view().r1?.gateway?.status).toBe('unknown'); // 1 up, minHealthy 2
    h.record('r1.gateway.gw-b', ok(t + 5_100));
    const gw = h.view().r1?.gateway;
    expect(gw).toMatchObject({ status: 'up', since: t + 5_105 });
    expect(gw?.detail).toBe('2/3 up (minHealthy 2)');
    expect(changes.filter((c) => c.kind === 'component')).toEqual([
      expect.objectContaining({ id: 'r1.gateway', from: 'unknown', to: 'up', at: t + 5_105 }),
    ]);
    expect(changes.filter((c) => c.kind === 'target').map((c) => c.reason)).toEqual([
      '2 consecutive successes: 200 in 5ms',
      '2 consecutive successes: 200 in 5ms',
    ]);
  });

  it('goes down when fewer than minHealthy can be up, with a reason naming the failures', () => {
    const { h, changes } = setup();
    const t = 1_000_000;
    for (const k of [0, 5_000])
      for (const id of ['r1.gateway.gw-a', 'r1.gateway.gw-b', 'r1.gateway.gw-c']) h.record(id, ok(t + k));
    expect(h.view().r1?.gateway?.status).toBe('up');
    h.record('r1.gateway.gw-c', bad(t + 10_000)); // fall 1: down at once, 2 still up
    expect(h.view().r1?.gateway?.status).toBe('up');
    for (const k of [10_000, 15_000, 20_000]) h.record('r1.gateway.gw-a', bad(t + k));
    const gw = h.view().r1?.gateway;
    expect(gw).toMatchObject({ status: 'down', since: t + 22_000 });
    expect(gw?.detail).toContain('1/3 up (minHealthy 2)');
    expect(gw?.detail).toContain('gw-a: timeout after 2s');
    const targetDown = changes.find(
      (c) => c.kind === 'target' && c.id === 'r1.gateway.gw-a' && c.to === 'down',
    );
    expect(targetDown?.reason).toBe('3 consecutive failures: timeout after 2s');
    const compDown = changes.filter((c) => c.kind === 'component' && c.to === 'down');
    expect(compDown).toHaveLength(1);
  });

  it('emits exactly one event per change, none while the state holds', () => {
    const { h, changes } = setup();
    for (let i = 0; i < 10; i++) h.record('r3.gateway.tcp', ok(1_000_000 + i * 5_000));
    expect(changes.map((c) => `${c.kind}:${c.id}:${c.to}`)).toEqual([
      'target:r3.gateway.tcp:up',
      'component:r3.gateway:up',
    ]);
  });

  it('checkedAt of a component is its oldest target result (the age of its evidence)', () => {
    const { h } = setup();
    h.record('r1.gateway.gw-a', ok(2_000_000));
    h.record('r1.gateway.gw-b', ok(2_003_000));
    expect(h.view().r1?.gateway?.checkedAt).toBe(2_000_005);
    expect(h.targets().find((t) => t.id === 'r1.gateway.gw-b')).toMatchObject({
      checkedAt: 2_003_005,
      consecutiveSuccesses: 1,
    });
  });

  it('maps a database result to role, writability and lag', () => {
    const { h } = setup();
    const r: DatabaseProbeResult = {
      ok: true,
      at: 2_000_000,
      latencyMs: 3,
      detail: 'replica, lag 0.4s',
      engine: 'postgres',
      role: 'replica',
      writable: false,
      lagSeconds: 0.4,
      lagBytes: 8_192,
      streaming: true,
    };
    h.record('r1.database.apim', r);
    expect(h.view().r1?.databases?.apim).toEqual({
      status: 'up',
      since: 2_000_003,
      checkedAt: 2_000_003,
      detail: 'replica, lag 0.4s',
      sampledAt: 2_000_003,
      role: 'replica',
      writable: false,
      lagSeconds: 0.4,
      lagBytes: 8_192,
      streaming: true,
    });
    h.record('r1.database.apim', {
      ok: false,
      at: 2_005_000,
      latencyMs: 3_000,
      detail: 'connect ECONNREFUSED',
      error: 'refused',
    });
    const down = h.view().r1?.databases?.apim;
    expect(down?.status).toBe('down');
    expect(down?.role).toBeUndefined();
    expect(down?.lagSeconds).toBeUndefined();
    expect(down?.sampledAt).toBeUndefined();
  });

  it('ignores results for unknown targets and survives a throwing listener, reporting its error', () => {
    const reported: unknown[] = [];
    const h = HealthTracker.fromConfig(config, {
      clock: new FakeClock(1_000_000),
      onListenerError: (err) => reported.push(err),
    });
    h.onChange(() => {
      throw new Error('logger broke');
    });
    expect(h.record('r9.gateway.nope', ok(1))).toBe(false);
    expect(h.record('r3.gateway.tcp', ok(1))).toBe(true);
    expect(h.record('r3.gateway.tcp', ok(2))).toBe(true);
    expect(h.view().r3?.gateway?.status).toBe('up');
    // Never dropped: the listener's error reaches the handler (the daemon logs and counts it).
    expect(reported.length).toBeGreaterThan(0);
    expect((reported[0] as Error).message).toBe('logger broke');
  });

  it('forgets database samples taken before a fence, so pre-fence writability is not evidence', () => {
    const { h } = setup();
    const base: Omit<DatabaseProbeResult, 'at'> = {
      ok: true,
      latencyMs: 1,
      detail: 'primary',
      engine: 'postgres',
      role: 'primary',
      writable: true,
    };
    h.record('r1.database.apim', { ...base, at: 100 });
    expect(h.view().r1?.databases?.apim?.writable).toBe(true);
    h.forgetSamples('r1', 150);
    expect(h.view().r1?.databases?.apim?.sampledAt).toBeUndefined();
    expect(h.view().r1?.databases?.apim?.writable).toBeUndefined();
    // What operators read says the old sample is gone, not the pre-fence "primary" as if current.
    expect(h.view().r1?.databases?.apim?.detail).toBe(
      'awaiting a fresh probe (before the change it said: primary)',
    );
    h.record('r1.database.apim', { ...base, at: 200, writable: false, detail: 'primary, read-only' });
    expect(h.view().r1?.databases?.apim).toMatchObject({
      writable: false,
      sampledAt: 201,
      detail: 'primary, read-only',
    });
  });

  it('allProbed turns true once every target has a result', () => {
    const { h } = setup();
    for (const t of h.targets()) h.record(t.id, ok(1_000_000));
    expect(h.allProbed()).toBe(true);
  });
});
