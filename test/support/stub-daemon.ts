import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import type { Overrides } from '../../src/decide/types.js';
import { createLogger, type Logger } from '../../src/log.js';
import { createCoreMetrics } from '../../src/metrics.js';
import {
  type AdminHandlers,
  adminConflict,
  adminInvalid,
  adminNotFound,
  createServer,
  type FailoverPreview,
  type Readiness,
  type StatusDocument,
  type SwitchyardServer,
} from '../../src/server/index.js';
import { fixtureTopology } from './topology-fixture.js';

export const STUB_TOKEN = 's3cr3t-admin-token-value';

/** A status document resembling a live four-region deployment. */
export function stubStatus(overrides: Overrides, main = 'r1', epoch = 1): StatusDocument {
  const since = '2026-11-26T03:00:00.000Z';
  const up = (name: string, kind: 'gateway' | 'keyManager' | 'database') => ({
    name,
    kind,
    status: 'up' as const,
    since,
  });
  return {
    version: 1,
    director: { id: 'stub', role: 'standalone', startedAt: since, ready: true },
    generatedAt: '2026-11-26T03:30:00.000Z',
    main,
    epoch,
    overrides,
    activeOverrides: [
      ...(overrides.frozen ? [{ kind: 'freeze' as const, target: 'director' }] : []),
      ...overrides.drained.map((r) => ({ kind: 'drain' as const, target: r })),
    ],
    journal: [],
    leader: null,
    observers: [],
    coordination: { role: 'standalone', observerRegions: 1 },
    regions: fixtureTopology().regions.map((r) => ({
      id: r.id,
      role: r.role,
      configuredRole: r.role,
      currentRole:
        r.id === main ? ('main' as const) : r.databases.length ? ('replica' as const) : ('edge' as const),
      isMain: r.id === main,
      components: [
        up('gateway', 'gateway'),
        ...(r.hasKeyManager ? [up('keyManager', 'keyManager')] : []),
        ...r.databases.map((d) => ({
          ...up(`database.${d}`, 'database'),
          role: r.id === main ? ('primary' as const) : ('replica' as const),
          writable: r.id === main,
          lagSeconds: r.id === main ? null : 0.4,
          lagBytes: r.id === main ? null : 2048,
        })),
      ],
      serving: { api: true, auth: r.hasKeyManager, management: r.id === main },
      drained: overrides.drained.includes(r.id),
      inMaintenance: false,
    })),
    targets: [
      {
        id: 'r1/gateway/health',
        region: 'r1',
        component: 'gateway',
        state: 'up',
        since,
        last: { ok: true, at: '2026-11-26T03:29:58.000Z', latencyMs: 12, detail: '200 OK in 12ms' },
      },
    ],
    records: [
      {
        key: 'api.r1.example.com/A',
        name: 'api.r1.example.com',
        type: 'A',
        class: 'api',
        home: 'r1',
        weights: { r1: 100, r2: 0 },
        live: { r1: 100, r2: 0 },
      },
      {
        key: 'manage.example.com/A',
        name: 'manage.example.com',
        type: 'A',
        class: 'management',
        weights: { r1: 100, r2: 0 },
        live: { r1: 100, r2: 0 },
      },
    ],
    alerts: overrides.frozen
      ? [{ kind: 'frozen', subject: 'director', message: 'traffic changes are frozen' }]
      : [],
    decisions: [
      {
        at: '2026-11-26T03:10:00.000Z',
        changed: true,
        reasons: ['r3 gateway up for 120s: traffic returns'],
        actions: ['dns api.r3.example.com/A r3=100'],
      },
    ],
    dns: {
      provider: 'file',
      dryRun: false,
      lastApplyAt: '2026-11-26T03:10:01.000Z',
      lastChangeAt: '2026-11-26T03:10:01.000Z',
      lastReadAt: '2026-11-26T03:25:00.000Z',
      lastApplyOk: true,
      failing: false,
    },
    promotion: null,
  };
}

export interface StubDaemon {
  /** The read-only listener. */
  url: string;
  addr: string;
  /** The admin listener. */
  adminUrl: string;
  adminAddr: string;
  server: SwitchyardServer;
  overrides: Overrides;
  calls: string[];
  logLines: string[];
  readiness: Readiness;
  /** The failover target's replica lag the stub reports; null = unknown (blocks without force). */
  replicaLag: { seconds: number | null; bytes: number | null };
  close(): Promise<void>;
}

/** A real listening server on 127.0.0.1:0 with in-memory handlers that behave like the daemon's. */
export async function startStubDaemon(
  options: { token?: string | undefined; logLevel?: 'info' | 'debug' } = {},
): Promise<StubDaemon> {
  const token = 'token' in options ? options.token : STUB_TOKEN;
  const registry = new Registry();
  const metrics = createCoreMetrics(registry, {
    topology: fixtureTopology(),
    targets: ['r1/gateway/health'],
  });
  const regions = fixtureTopology().regions.map((r) => r.id);
  const overrides: Overrides = { drained: [], frozen: false, routes: {} };
  const calls: string[] = [];
  const logLines: string[] = [];
  const readiness: Readiness = { ready: false, reason: 'first probe round not done' };
  const replicaLag: StubDaemon['replicaLag'] = { seconds: 0.4, bytes: 2048 };
  let main = 'r1';
  let epoch = 1;
  const logger: Logger = createLogger({
    level: options.logLevel ?? 'debug',
    destination: new Writable({
      write(chunk, _enc, cb) {
        logLines.push(String(chunk));
        cb();
      },
    }),
  });

  const known = (region: string) => {
    if (!regions.includes(region))
      throw adminNotFound(`unknown region "${region}" (known: ${regions.join(', ')})`);
  };
  const snapshot = () => structuredClone(overrides);
  const preview = (to: string, force: boolean): FailoverPreview => ({
    from: main,
    to,
    force,
    epoch: epoch + 1,
    epochNow: epoch,
    records: [
      {
        key: 'manage.example.com/A',
        name: 'manage.example.com',
        from: { [main]: 100, [to]: 0 },
        to: { [main]: 0, [to]: 100 },
      },
    ],
    promotion: {
      databases: ['apim', 'shared'],
      lagSeconds: replicaLag.seconds,
      lagBytes: replicaLag.bytes,
      maxLagSeconds: 10,
      maxLagBytes: 16_777_216,
      withinBound: replicaLag.seconds !== null && replicaLag.seconds <= 10,
    },
    reasons: [`operator requested failover from ${main} to ${to}`],
  });

  const admin: AdminHandlers = {
    async drain(region) {
      calls.push(`drain ${region}`);
      known(region);
      if (overrides.drained.includes(region))
        return { changed: false, message: `${region} was already drained`, overrides: snapshot() };
      overrides.drained.push(region);
      return {
        changed: true,
        message: `drained ${region}: its traffic moves to its fallback`,
        overrides: snapshot(),
      };
    },
    async undrain(region) {
      calls.push(`undrain ${region}`);
      known(region);
      if (!overrides.drained.includes(region))
        return { changed: false, message: `${region} was not drained`, overrides: snapshot() };
      overrides.drained = overrides.drained.filter((r) => r !== region);
      return {
        changed: true,
        message: `undrained ${region}: it serves again once healthy`,
        overrides: snapshot(),
      };
    },
    async freeze() {
      calls.push('freeze');
      const changed = !overrides.frozen;
      overrides.frozen = true;
      return {
        changed,
        message: changed ? 'frozen: no traffic changes until unfreeze' : 'already frozen',
        overrides: snapshot(),
      };
    },
    async unfreeze() {
      calls.push('unfreeze');
      const changed = overrides.frozen;
      overrides.frozen = false;
      return {
        changed,
        message: changed ? 'unfrozen: decisions apply again' : 'was not frozen',
        overrides: snapshot(),
      };
    },
    async failover({ to, force, dryRun }) {
      calls.push(`failover ${to} force=${force} dryRun=${dryRun}`);
      known(to);
      if (to === 'r3' || to === 'r4')
        throw adminInvalid(`${to} is an edge region without databases; it cannot become main`);
      const plan = preview(to, force);
      if (to === main)
        return { applied: false, dryRun, already: true, message: `${to} is already the main region`, plan };
      if (!plan.promotion?.withinBound && !force)
        plan.blocked = 'replica lag unknown: use --force to accept data loss';
      if (dryRun)
        return { applied: false, dryRun: true, message: `failover from ${main} to ${to} (dry run)`, plan };
      if (plan.blocked) throw adminConflict(plan.blocked);
      const from = main;
      main = to;
      epoch += 1;
      return {
        applied: true,
        dryRun: false,
        message: `failover from ${from} to ${to} applied (epoch ${epoch})`,
        plan,
      };
    },
    async switchover({ to, dryRun }) {
      calls.push(`switchover ${to} dryRun=${dryRun}`);
      known(to);
      if (to === main)
        return {
          applied: false,
          dryRun,
          outcome: 'already' as const,
          message: `${to} is already the main (epoch ${epoch})`,
          from: to,
          to,
          main,
          epoch,
          databases: ['apim', 'shared'],
        };
      const from = main;
      if (!dryRun) {
        main = to;
        epoch += 1;
      }
      return {
        applied: !dryRun,
        dryRun,
        outcome: dryRun ? ('plan' as const) : ('done' as const),
        message: dryRun ? `switchover ${from} → ${to}: dry run` : `${to} is the main (epoch ${epoch})`,
        from,
        to,
        main,
        epoch,
        databases: ['apim', 'shared'],
      };
    },
  };

  const server = createServer({
    listen: '127.0.0.1:0',
    adminListen: '127.0.0.1:0',
    registry,
    adminToken: token,
    getStatus: () => stubStatus(snapshot(), main, epoch),
    getReadiness: () => readiness,
    admin,
    logger,
  });
  metrics.setReady(false);
  const { port, admin: adminAt } = await server.listen();
  const adminPort = adminAt?.port ?? 0;
  return {
    url: `http://127.0.0.1:${port}`,
    addr: `127.0.0.1:${port}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    adminAddr: `127.0.0.1:${adminPort}`,
    server,
    overrides,
    calls,
    logLines,
    readiness,
    replicaLag,
    close: () => server.close(),
  };
}
