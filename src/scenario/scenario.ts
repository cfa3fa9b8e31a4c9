import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { duration, regionId } from '../config/fields.js';
import { formatZodIssues } from '../config/issues.js';
import { parseYaml } from '../config/load.js';
import { settledWeights } from '../decide/records.js';
import type {
  DatabaseHealth,
  DecideInput,
  EngineState,
  HealthView,
  Overrides,
  RegionHealth,
} from '../decide/types.js';
import { regionById } from '../topology/build.js';
import type { Topology } from '../topology/types.js';
import { SwitchyardError } from '../util/errors.js';

/**
 * A "what if" for `switchyard plan`: a situation described in a few lines, turned into the exact
 * input the live daemon would hand the engine. Components not listed as down are healthy and
 * have been for `elapsed`.
 */
const component = z.string().regex(/^[a-z][a-z0-9-]*\.(gateway|keyManager|database)(\.[a-z][a-z0-9_]*)?$/, {
  error: 'expected region.component: r1.gateway, r1.keyManager, r1.database or r1.database.<key>',
});
const timedComponent = z.union([component, z.strictObject({ id: component, for: duration })]);
const trafficClass = z.enum(['api', 'auth']);
const dbObservation = z.strictObject({
  status: z.enum(['up', 'down', 'unknown']).optional(),
  role: z.enum(['primary', 'replica']).optional(),
  writable: z.boolean().optional(),
  lagSeconds: z.number().min(0).nullable().optional(),
  lagBytes: z.number().int().min(0).nullable().optional(),
});

export const scenarioSchema = z.strictObject({
  description: z.string().optional(),
  elapsed: duration.default(3_600_000),
  now: z.iso.datetime({ error: 'expected an ISO-8601 time such as 2026-01-01T00:00:00Z' }).optional(),
  state: z
    .strictObject({
      main: regionId.optional(),
      epoch: z.number().int().min(0).default(0),
      out: z.record(regionId, z.array(trafficClass)).default({}),
      weights: z.record(z.string(), z.record(regionId, z.number().int().min(0).max(255))).default({}),
      demoted: z
        .record(
          regionId,
          z.strictObject({
            reason: z.enum(['old-main', 'split-brain', 'detached']).default('old-main'),
            fenced: z.boolean().default(true),
          }),
        )
        .default({}),
    })
    .prefault({}),
  down: z.array(timedComponent).default([]),
  unknown: z.array(component).default([]),
  database: z.record(z.string(), dbObservation).default({}),
  drained: z.array(regionId).default([]),
  maintenance: z.array(regionId).default([]),
  frozen: z.boolean().default(false),
  routes: z.record(z.string(), regionId).default({}),
  failover: z.strictObject({ to: regionId, force: z.boolean().default(false) }).optional(),
});

export type Scenario = z.output<typeof scenarioSchema>;

export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SwitchyardError(
      'SCENARIO_INVALID',
      `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
  return parseScenario(parseYaml(text, path, 'SCENARIO_INVALID'), path);
}

export function parseScenario(raw: unknown, source = 'scenario'): Scenario {
  const r = scenarioSchema.safeParse(raw);
  if (!r.success) {
    const lines = formatZodIssues(r.error);
    throw new SwitchyardError(
      'SCENARIO_INVALID',
      `${source}: ${lines.length} error${lines.length === 1 ? '' : 's'}`,
      lines,
    );
  }
  return r.data;
}

/** Builds the engine input a scenario describes; every region and component it names must exist. */
export function scenarioInput(
  topology: Topology,
  s: Scenario,
  source = 'scenario',
  clockNow = Date.UTC(2026, 0, 1),
): DecideInput {
  const errors: string[] = [];
  const now = s.now ? Date.parse(s.now) : clockNow;
  const main = s.state.main ?? topology.configuredMain;
  const known = (id: string, path: string): void => {
    if (!regionById(topology, id)) errors.push(`${path}: unknown region "${id}"`);
  };
  known(main, 'state.main');
  if (regionById(topology, main)?.role === 'edge')
    errors.push(`state.main: "${main}" is an edge region and cannot be the main`);
  for (const id of Object.keys(s.state.out)) known(id, `state.out.${id}`);
  for (const [i, id] of s.drained.entries()) known(id, `drained[${i}]`);
  for (const [i, id] of s.maintenance.entries()) known(id, `maintenance[${i}]`);
  if (s.failover) known(s.failover.to, 'failover.to');

  // Every component starts healthy for `elapsed`.
  const health: HealthView = {};
  const since = now - s.elapsed;
  for (const region of topology.regions) {
    const h: RegionHealth = {};
    if (region.hasGateway) h.gateway = { status: 'up', since, checkedAt: now };
    if (region.hasKeyManager) h.keyManager = { status: 'up', since, checkedAt: now };
    if (region.databases.length) {
      h.databases = {};
      for (const key of region.databases) {
        const isMain = region.id === main;
        h.databases[key] = {
          status: 'up',
          since,
          checkedAt: now,
          sampledAt: now,
          role: isMain ? 'primary' : 'replica',
          writable: isMain,
          lagSeconds: isMain ? null : 0,
          lagBytes: isMain ? null : 0,
        };
      }
    }
    health[region.id] = h;
  }

  const apply = (
    item: string,
    path: string,
    fn: (target: { status: 'up' | 'down' | 'unknown'; since: number }) => void,
  ) => {
    const [regionPart, kind, key] = item.split('.') as [string, string, string | undefined];
    const region = regionById(topology, regionPart);
    const h = health[regionPart];
    if (!region || !h) return errors.push(`${path}: unknown region "${regionPart}"`);
    if (kind === 'gateway' || kind === 'keyManager') {
      const c = h[kind];
      if (!c) return errors.push(`${path}: region "${regionPart}" has no ${kind}`);
      return fn(c);
    }
    const dbs = h.databases ?? {};
    const keys = key === undefined ? Object.keys(dbs) : [key];
    if (keys.length === 0) return errors.push(`${path}: region "${regionPart}" has no databases`);
    for (const k of keys) {
      const d = dbs[k];
      if (!d) errors.push(`${path}: region "${regionPart}" has no database "${k}"`);
      else fn(d);
    }
  };
  s.down.forEach((item, i) => {
    const id = typeof item === 'string' ? item : item.id;
    const forMs = typeof item === 'string' ? s.elapsed : item.for;
    apply(id, `down[${i}]`, (c) => {
      c.status = 'down';
      delete (c as DatabaseHealth).sampledAt;
      c.since = now - forMs;
    });
  });
  s.unknown.forEach((item, i) => {
    apply(item, `unknown[${i}]`, (c) => {
      c.status = 'unknown';
      delete (c as DatabaseHealth).sampledAt;
    });
  });
  for (const [target, obs] of Object.entries(s.database)) {
    const [regionPart, key] = target.split('.') as [string, string | undefined];
    const region = regionById(topology, regionPart);
    if (!region?.databases.length) {
      errors.push(`database.${target}: "${regionPart}" is not a region with databases`);
      continue;
    }
    for (const k of key === undefined ? region.databases : [key]) {
      const d: DatabaseHealth | undefined = health[regionPart]?.databases?.[k];
      if (!d) {
        errors.push(`database.${target}: region "${regionPart}" has no database "${k}"`);
        continue;
      }
      if (obs.status !== undefined) d.status = obs.status;
      if (d.status !== 'up') delete d.sampledAt;
      if (obs.role !== undefined) d.role = obs.role;
      if (obs.writable !== undefined) d.writable = obs.writable;
      if (obs.lagSeconds !== undefined) d.lagSeconds = obs.lagSeconds;
      if (obs.lagBytes !== undefined) d.lagBytes = obs.lagBytes;
    }
  }
  if (errors.length > 0)
    throw new SwitchyardError(
      'SCENARIO_INVALID',
      `${source}: ${errors.length} error${errors.length === 1 ? '' : 's'}`,
      errors,
    );

  // Unless the scenario says otherwise, the last weights written are those the engine writes for
  // the scenario's state (its main, hold-downs, demotions and overrides), so that "changed" in the
  // plan means changed from that state.
  const demoted: NonNullable<EngineState['demoted']> = {};
  for (const [id, d] of Object.entries(s.state.demoted)) {
    known(id, `state.demoted.${id}`);
    demoted[id] = {
      reason: d.reason,
      since: now,
      epoch: s.state.epoch,
      fenced: d.fenced,
      detail: 'from the scenario',
    };
  }
  const settled = settledWeights(topology, { main, out: s.state.out, demoted });
  const weights: EngineState['weights'] = {};
  for (const r of topology.records) {
    const w = s.state.weights[r.name] ?? s.state.weights[r.key] ?? settled[r.key];
    if (w) weights[r.key] = w;
  }
  const state: EngineState = {
    epoch: s.state.epoch,
    main,
    out: s.state.out,
    weights,
    ...(Object.keys(demoted).length > 0 ? { demoted } : {}),
  };
  const overrides: Overrides = {
    drained: s.drained,
    frozen: s.frozen,
    routes: s.routes,
    maintenance: s.maintenance,
    ...(s.failover ? { failover: s.failover } : {}),
  };
  return { topology, health, state, overrides, now, wall: now };
}
