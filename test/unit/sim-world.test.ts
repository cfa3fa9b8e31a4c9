import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { initialState } from '../../src/decide/types.js';
import { createDnsMetrics } from '../../src/dns/metrics.js';
import { DnsReconciler } from '../../src/dns/reconciler.js';
import type { HealthTarget } from '../../src/health/targets.js';
import type { DatabaseProbeResult, ProbeResult } from '../../src/probe/types.js';
import { SimClock } from '../../src/sim/clock.js';
import { simConfig } from '../../src/sim/config.js';
import { Kernel } from '../../src/sim/kernel.js';
import { SimRandom } from '../../src/sim/random.js';
import { Trace } from '../../src/sim/trace.js';
import { World } from '../../src/sim/world/world.js';
import { freshState } from '../../src/state/create.js';

function setup(seed = 1, layout: Parameters<typeof simConfig>[0] = {}) {
  const kernel = new Kernel();
  const world = new World(kernel, new SimRandom(seed), simConfig(layout), new Trace());
  world.addObserver('i1', 'r3');
  const owner = kernel.addOwner('i1');
  const clock = new SimClock(kernel, owner, { monotonicOrigin: 1_000_000 });
  const ports = world.ports('i1', clock, world.stream('test.route53'));
  const target = (id: string) => world.targets.find((t) => t.id === id) as HealthTarget;
  /** Runs `p` to completion in virtual time (at most `ms`). */
  const settle = async <T>(p: Promise<T>, ms = 600_000): Promise<T> => {
    let out: { v: T } | undefined;
    void p.then(
      (v) => {
        out = { v };
      },
      (e: unknown) => {
        out = { v: Promise.reject(e) as T };
      },
    );
    const end = kernel.now + ms;
    await kernel.run(end, { afterEvent: () => out !== undefined });
    if (!out) throw new Error('did not settle in virtual time');
    return await out.v;
  };
  return { kernel, world, owner, clock, ports, target, settle };
}

describe('sim world: probes over links', () => {
  it('answers like the real probes: 200, refused at once, 503, and nothing until the timeout on a hang', async () => {
    const { world, ports, clock, target, settle } = setup();
    const gw = target('r2.gateway.gw');
    const probe = ports.probeFactory(gw, clock);
    const ok = (await settle(probe.run())) as ProbeResult;
    expect(ok).toMatchObject({ ok: true, status: 200 });
    expect(ok.latencyMs).toBeGreaterThan(10); // r3 → r2 is another region
    world.services.effectsOf(gw.id).add(1, { down: 'refused' });
    const refused = await settle(probe.run());
    expect(refused).toMatchObject({ ok: false, error: 'refused' });
    expect(refused.latencyMs).toBeLessThan(200);
    world.services.effectsOf(gw.id).remove(1);
    world.services.effectsOf(gw.id).add(2, { down: 'status' });
    expect(await settle(probe.run())).toMatchObject({ ok: false, error: 'status', status: 503 });
    world.services.effectsOf(gw.id).remove(2);
    world.services.effectsOf(gw.id).add(3, { down: 'hang' });
    const hung = await settle(probe.run());
    expect(hung).toMatchObject({ ok: false, error: 'timeout' });
    expect(hung.latencyMs).toBe(gw.timeoutMs);
  });

  it('stops at once when aborted, and calls a TimeoutError abort a timeout', async () => {
    const { world, ports, clock, target, settle, kernel } = setup();
    const gw = target('r1.gateway.gw-a');
    world.services.effectsOf(gw.id).add(1, { down: 'hang' });
    const probe = ports.probeFactory(gw, clock);
    const c1 = new AbortController();
    const p1 = probe.run(c1.signal);
    kernel.schedule(kernel.now + 300, () => c1.abort(new DOMException('stop', 'AbortError')));
    const r1 = await settle(p1);
    expect(r1).toMatchObject({ ok: false, error: 'aborted' });
    expect(r1.latencyMs).toBe(300);
    const c2 = new AbortController();
    const p2 = probe.run(c2.signal);
    kernel.schedule(kernel.now + 500, () =>
      c2.abort(new DOMException('timeout after 500ms', 'TimeoutError')),
    );
    expect(await settle(p2)).toMatchObject({ ok: false, error: 'timeout', latencyMs: 500 });
  });

  it('a slow service past the timeout, a partition, and total loss all time out; benign loss loses some', async () => {
    const { world, ports, clock, target, settle } = setup(3);
    const km = target('r2.keyManager.km');
    const probe = ports.probeFactory(km, clock);
    world.services.effectsOf(km.id).add(1, { slowMs: 5_000 });
    expect(await settle(probe.run())).toMatchObject({ ok: false, error: 'timeout' });
    world.services.effectsOf(km.id).remove(1);
    world.network.effects('i1', 'r2').add(2, { cutOut: true, cutBack: true });
    expect(await settle(probe.run())).toMatchObject({ ok: false, error: 'timeout' });
    world.network.effects('i1', 'r2').remove(2);
    world.network.effects('i1', 'r2').add(3, { loss: 0.3 });
    let lost = 0;
    for (let i = 0; i < 200; i++) if (!(await settle(probe.run())).ok) lost++;
    expect(lost).toBeGreaterThan(30);
    expect(lost).toBeLessThan(90);
  });
});

describe('sim world: databases', () => {
  it('a replica follows the primary’s writes with lag; a cut stream leaves a loss the replica cannot see', async () => {
    const { world, kernel, ports, clock, target, settle } = setup();
    const dbs = world.databases;
    const primary = dbs.node('r1', 'apim');
    const replica = dbs.node('r2', 'apim');
    replica.effects.add(1, { applyLagMs: 5_000 });
    for (let i = 0; i < 10; i++)
      kernel.schedule(kernel.now + i * 100, () => dbs.write(primary, 1_000, kernel.now));
    await kernel.run(kernel.now + 1_500);
    const probe = ports.probeFactory(target('r2.database.apim'), clock);
    const lagging = (await settle(probe.run())) as DatabaseProbeResult;
    expect(lagging).toMatchObject({ ok: true, role: 'replica', writable: false, engine: 'postgres' });
    expect(lagging.lagBytes).toBe(10_000); // received, not replayed
    expect(lagging.lagSeconds).toBeGreaterThan(0);
    await kernel.run(kernel.now + 6_000);
    expect(((await settle(probe.run())) as DatabaseProbeResult).lagBytes).toBe(0);

    dbs.advance(kernel.now);
    world.network.replicationEffects('r1', 'r2').add(2, { cut: true });
    dbs.write(primary, 4_096, kernel.now);
    await kernel.run(kernel.now + 10_000);
    const blind = (await settle(probe.run())) as DatabaseProbeResult;
    expect(blind.lagBytes).toBe(0); // what the replica can see by itself
    expect(blind.lagSeconds).toBe(0);
    expect(dbs.unreceivedBytes(replica, kernel.now)).toBe(4_096); // what would be lost
  });

  it('the soft fence survives a restart on PostgreSQL; on MariaDB the crashed primary comes back writable', async () => {
    for (const engine of ['postgres', 'mariadb'] as const) {
      const { world, kernel, clock, settle } = setup(1, { hardFence: false });
      const node = world.databases.node('r1', 'apim');
      (node.config as { engine: string }).engine = engine;
      const promoter = world.ports('i1', clock, world.stream('x')).promoterFactory('r1', 'apim', node.config);
      const f = await settle(promoter.fence());
      expect(f).toMatchObject({ ok: true, sqlFenced: true });
      expect(node.writable).toBe(false);
      node.effects.add(9, { down: 'crash' });
      world.databases.reconcile(node, kernel.now, 'crash');
      node.effects.remove(9);
      world.databases.reconcile(node, kernel.now, 'restart');
      expect(node.writable).toBe(engine === 'mariadb');
      expect(world.databases.events.some((e) => e.kind === 'fence-undone')).toBe(engine === 'mariadb');
    }
  });

  it('the hard fence stops the server for good; it fails in a region outage (no control plane)', async () => {
    const { world, ports, settle, kernel } = setup();
    const node = world.databases.node('r1', 'shared');
    const p = ports.promoterFactory('r1', 'shared', node.config);
    const f = await settle(p.fence());
    expect(f.ok).toBe(true);
    expect(f.hardFence).toMatchObject({ ran: true, ok: true });
    expect(node.isRunning).toBe(false);
    world.databases.reconcile(node, kernel.now, 'anything');
    expect(node.isRunning).toBe(false);
    expect((await settle(p.status())).reachable).toBe(false);

    const other = world.databases.node('r1', 'apim');
    other.effects.add(1, { down: 'host' });
    world.databases.reconcile(other, kernel.now, 'region outage');
    const f2 = await settle(ports.promoterFactory('r1', 'apim', other.config).fence());
    expect(f2.ok).toBe(false);
    expect(f2.sqlFenced).toBe(false);
    expect(f2.hardFence?.ok).toBe(false);
    expect(f2.error?.reason).toBe('hard-fence');
  });

  it('a fence whose reply is lost still fenced: the caller hears a timeout (an asymmetric cut)', async () => {
    const { world, ports, settle } = setup(1, { hardFence: false });
    const node = world.databases.node('r1', 'apim');
    world.network.effects('i1', 'r1').add(1, { cutBack: true });
    const f = await settle(ports.promoterFactory('r1', 'apim', node.config).fence());
    expect(f.ok).toBe(false);
    expect(f.error?.reason).toBe('timeout');
    expect(node.readOnly).toBe(true);
    expect(world.databases.events.map((e) => e.kind)).toContain('fence');
  });

  it('promotion replays what was received, writes the epoch, and reports the loss; a stale epoch is refused after the node is writable', async () => {
    const { world, kernel, ports, settle } = setup();
    const dbs = world.databases;
    const primary = dbs.node('r1', 'apim');
    const replica = dbs.node('r2', 'apim');
    dbs.write(primary, 2_000, kernel.now);
    await kernel.run(kernel.now + 1_000);
    dbs.advance(kernel.now); // replication is computed lazily: bring it up to now before cutting it
    world.network.replicationEffects('r1', 'r2').add(1, { cut: true });
    dbs.write(primary, 777, kernel.now);
    const r = await settle(ports.promoterFactory('r2', 'apim', replica.config).promote({ epoch: 3 }));
    expect(r).toMatchObject({ ok: true, verified: true, alreadyPrimary: false });
    expect(r.lagAtPromotion).toEqual({ seconds: 0, bytes: 0 });
    expect(replica).toMatchObject({ role: 'primary', epoch: 3, writable: true, writableCause: 'promote' });
    const ev = dbs.events.find((e) => e.kind === 'promote');
    expect(ev).toMatchObject({ node: 'r2.apim', by: 'i1', epoch: 3, lostBytes: 777 });

    // A stale promotion of the node with a newer epoch in its heartbeat: refused, but — as the
    // real promoter orders it — only after the fence was cleared.
    replica.readOnly = true;
    const stale = await settle(ports.promoterFactory('r2', 'apim', replica.config).promote({ epoch: 2 }));
    expect(stale.ok).toBe(false);
    expect(stale.error?.reason).toBe('stale-epoch');
    expect(replica.writable).toBe(true);
  });

  it('catchUp waits until the replica has replayed the target position', async () => {
    const { world, kernel, ports, settle } = setup();
    const dbs = world.databases;
    const primary = dbs.node('r1', 'shared');
    const replica = dbs.node('r2', 'shared');
    replica.effects.add(1, { applyLagMs: 3_000 });
    dbs.write(primary, 50_000, kernel.now);
    const { lsn } = await import('../../src/sim/world/databases.js');
    const c = await settle(
      ports.promoterFactory('r2', 'shared', replica.config).catchUp(lsn(primary.position), 10_000),
    );
    expect(c.ok).toBe(true);
    expect(c.waitedMs).toBeGreaterThanOrEqual(2_500);
    const short = await settle(
      ports.promoterFactory('r2', 'shared', replica.config).catchUp(lsn(primary.position + 1), 1_000),
    );
    expect(short).toMatchObject({ ok: false });
    expect(short.error?.reason).toBe('not-caught-up');
  });
});

describe('sim world: Route 53 under the real provider', () => {
  it('starts at the nominal weights and logs every write with its writer; INSYNC comes later', async () => {
    const { world, ports, settle } = setup();
    const records = world.topology.records;
    const live = await settle(ports.dnsProvider.read(records));
    expect(live.length).toBe(records.reduce((n, r) => n + Object.keys(r.targets).length, 0));
    expect(world.dns.weights()['api.r1.example.com/A']).toEqual({ r1: 100, r2: 0 });
    const set = live.find((s) => s.recordKey === 'api.r1.example.com/A' && s.region === 'r2');
    const r = await settle(ports.dnsProvider.apply([{ ...set!, weight: 100 }]));
    expect(r.writeCalls).toBe(1);
    expect(world.dns.changes).toHaveLength(1);
    expect(world.dns.changes[0]).toMatchObject({
      by: 'i1',
      sets: [{ recordKey: 'api.r1.example.com/A', region: 'r2', weight: 100 }],
    });
    const insync = await settle(r.insync!);
    expect(insync.status).toBe('INSYNC');
    expect(insync.propagationMs).toBeGreaterThan(4_000);
    expect(world.dns.answer('api.r1.example.com/A')).toEqual(['r1', 'r2']);
  });

  it('a batch is all or nothing: an invalid weight changes nothing', async () => {
    const { world, clock, settle } = setup();
    const client = world.dns.client('i1', clock);
    const before = JSON.stringify(world.dns.weights());
    const send = client.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: 'ZSIMULATED',
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: 'api.r1.example.com.',
                Type: 'A',
                SetIdentifier: 'r1',
                Weight: 0,
                TTL: 60,
                ResourceRecords: [{ Value: '192.0.2.10' }],
              },
            },
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: 'api.r1.example.com.',
                Type: 'A',
                SetIdentifier: 'r2',
                Weight: 300,
                TTL: 60,
                ResourceRecords: [{ Value: '192.0.2.20' }],
              },
            },
          ],
        },
      }),
    );
    const err = await settle(
      send.then(
        () => undefined,
        (e: Error) => e,
      ),
    );
    expect(err?.name).toBe('InvalidChangeBatch');
    expect(JSON.stringify(world.dns.weights())).toBe(before);
  });

  it('throttles at the account’s rate (other tools included); the provider retries through it', async () => {
    const { world, ports, settle, kernel } = setup();
    world.dns.effects.add(1, { noisyNeighbour: 0.9 });
    const live = await settle(ports.dnsProvider.read(world.topology.records));
    const set = live.find((s) => s.recordKey === 'api.r2.example.com/A' && s.region === 'r1');
    // Writes every 3 s with their GetChange polls, past the burst at the 0.5 requests/s left.
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++) {
      outcomes.push(
        await settle(
          ports.dnsProvider.apply([{ ...set!, weight: 10 + i }]).then(
            () => 'ok',
            (e: { code?: string }) => String(e.code),
          ),
        ),
      );
      await kernel.run(kernel.now + 3_000);
    }
    expect(world.dns.stats.throttled).toBeGreaterThan(0);
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThanOrEqual(6);
    expect(world.dns.weights()['api.r2.example.com/A']?.r1).toBe(10 + outcomes.lastIndexOf('ok'));
  });

  it('one GetChange poller for every write in flight: under throttling the writes still get through', async () => {
    const { world, ports, settle } = setup();
    world.dns.effects.add(1, { noisyNeighbour: 0.6 });
    const live = await settle(ports.dnsProvider.read(world.topology.records));
    const set = live.find((s) => s.recordKey === 'api.r2.example.com/A' && s.region === 'r1');
    const outcomes: string[] = [];
    for (let i = 0; i < 10; i++)
      outcomes.push(
        await settle(
          ports.dnsProvider.apply([{ ...set!, weight: 10 + i }]).then(
            () => 'ok',
            (e: { code?: string }) => String(e.code),
          ),
        ),
      );
    // Ten writes back to back (each poller on its own once made a write give up): all land, and
    // the polls stay fewer than the writes.
    expect(outcomes).toEqual(Array(10).fill('ok'));
    expect(world.dns.weights()['api.r2.example.com/A']?.r1).toBe(19);
    expect(world.dns.stats.calls.GetChange ?? 0).toBeLessThanOrEqual(
      world.dns.stats.calls.ChangeResourceRecordSets ?? 0,
    );
  });

  it('an outage fails the call after the provider’s retries; an unknown error may hide an applied write', async () => {
    const { world, ports, settle } = setup(5);
    const live = await settle(ports.dnsProvider.read(world.topology.records));
    const set = live.find((s) => s.recordKey === 'api.r3.example.com/A' && s.region === 'r1')!;
    world.dns.effects.add(1, { outage: true });
    const failed = await settle(
      ports.dnsProvider.apply([{ ...set, weight: 7 }]).then(
        () => undefined,
        (e: { code?: string }) => e,
      ),
    );
    expect(failed?.code).toBe('DNS_UNAVAILABLE');
    expect(world.dns.changes).toHaveLength(0);
    world.dns.effects.remove(1);
    world.dns.effects.add(2, { errorRate: 1 });
    let ambiguous = false;
    for (let i = 0; i < 10 && !ambiguous; i++) {
      await settle(
        ports.dnsProvider.apply([{ ...set, weight: 20 + i }]).then(
          () => undefined,
          () => undefined,
        ),
      );
      ambiguous = world.dns.changes.some((c) => c.ambiguous);
    }
    expect(ambiguous).toBe(true);
  });

  it('a call that gets no bytes ends with the SDK’s request timeout; the provider retries it', async () => {
    const { world, ports, settle, kernel } = setup();
    world.dns.effects.add(1, { hang: 'timeout' });
    const p = ports.dnsProvider.read(world.topology.records);
    kernel.schedule(kernel.now + 40_000, () => world.dns.effects.remove(1));
    const live = await settle(p);
    expect(live.length).toBeGreaterThan(0);
    expect(kernel.now).toBeGreaterThan(40_000);
  });

  it('a call that never answers is abandoned at its deadline: the reconciler asks again once the API answers, and close() returns', async () => {
    const { world, ports, clock, kernel } = setup();
    world.dns.effects.add(1, { hang: 'stuck' });
    const reconciler = new DnsReconciler({
      provider: ports.dnsProvider,
      records: world.topology.records,
      logger: pino({ level: 'silent' }),
      metrics: createDnsMetrics(new Registry()),
      clock,
      options: { dryRun: false, createMissing: false, random: world.stream('r') },
    });
    let started = false;
    void reconciler.start().then(() => {
      started = true;
    });
    kernel.schedule(kernel.now + 60_000, () => world.dns.effects.remove(1));
    await kernel.run(kernel.now + 600_000);
    expect(started).toBe(true); // the API answered again after a minute; the reconciler asked again
    let closed = false;
    void reconciler.close().then(() => {
      closed = true;
    });
    await kernel.run(kernel.now + 600_000);
    expect(closed).toBe(true);
  });
});

describe('sim world: state store twin', () => {
  it('saves and loads; a full disk fails saves with STATE_UNWRITABLE', async () => {
    const { world, ports, settle } = setup();
    const s = freshState(initialState(world.topology));
    await settle(ports.stateStore.save(s));
    expect(await settle(ports.stateStore.load())).toEqual(s);
    world.disks.get('i1')!.effects.add(1, { full: true });
    const err = await settle(
      ports.stateStore.save({ ...s, engine: { ...s.engine, epoch: 1 } }).then(
        () => undefined,
        (e: { code?: string }) => e,
      ),
    );
    expect(err?.code).toBe('STATE_UNWRITABLE');
    expect((await settle(ports.stateStore.load()))?.engine.epoch).toBe(0);
  });

  it('a crash after the rename leaves the new state on disk though the caller never heard', async () => {
    const { world, kernel, owner, ports } = setup();
    const disk = world.disks.get('i1')!;
    const s = freshState(initialState(world.topology));
    disk.onDurable = () => kernel.kill(owner);
    let heard = false;
    void ports.stateStore.save({ ...s, engine: { ...s.engine, epoch: 7 } }).then(() => {
      heard = true;
    });
    await kernel.run(kernel.now + 1_000);
    expect(heard).toBe(false);
    expect(disk.state?.engine.epoch).toBe(7);
  });

  it('counts saves that overlap (the StateStore contract forbids them)', async () => {
    const { world, ports, kernel } = setup();
    const s = freshState(initialState(world.topology));
    void ports.stateStore.save(s);
    void ports.stateStore.save(s);
    await kernel.run(kernel.now + 100);
    expect(world.disks.get('i1')!.overlaps).toBe(1);
  });
});
