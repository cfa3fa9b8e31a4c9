import { regionById } from '../topology/build.js';
import type { Region, RegionId, TrafficClass } from '../topology/types.js';
import { formatDuration } from '../util/duration.js';
import { SwitchyardError } from '../util/errors.js';
import {
  canServe,
  classEvidence,
  databaseEvidence,
  downComponents,
  evidenceOf,
  floorEvidence,
  longestHoldDown,
} from './evidence.js';
import { decideDatabases } from './promotion.js';
import { nominalWeights, planRecord, sameWeights } from './records.js';
import { decideServing } from './serving.js';
import type { Alert, DecideInput, PanicMemory, Plan, RecordPlan } from './types.js';

/**
 * The decision engine: a pure, synchronous function of its input. No I/O, no clock reads, no
 * randomness — the same input always gives the same plan. Every change carries a reason.
 */
export function decide(raw: DecideInput): Plan {
  const { topology, overrides } = raw;
  if (overrides.frozen)
    return {
      ...hold(raw, 'frozen by an operator: changing nothing', 'frozen'),
      panic: raw.panic ?? { active: false },
    };

  // Panic guard: if most regions look down at once from here, suspect the observer. (Whether a
  // component is down now does not depend on how long: the floor below cannot change this.)
  const down = topology.regions.filter(
    (r) => downComponents(raw.health, r, topology.policy, raw.now).length > 0,
  );
  const share = topology.regions.length ? down.length / topology.regions.length : 0;
  const panic = share > topology.policy.panicThreshold;
  const memory = panicMemory(raw, panic);
  const input: DecideInput =
    memory.liftedAt !== undefined ? { ...raw, health: floorEvidence(raw.health, memory.liftedAt) } : raw;
  const { state } = input;

  const reasons: string[] = [];
  const alerts: Alert[] = [];
  reasons.push(...regionSummaries(input));
  if (memory.liftedAt !== undefined)
    reasons.push(
      `panic guard lifted ${formatDuration(input.now - memory.liftedAt)} ago: hold-downs count from then, not from before the panic`,
    );
  if (panic) {
    const msg = `panic guard: ${down.length} of ${topology.regions.length} regions look down at once (${down
      .map((r) => r.id)
      .join(
        ', ',
      )}), more than ${Math.round(topology.policy.panicThreshold * 100)}%; suspecting the observer and changing nothing`;
    reasons.push(msg);
    alerts.push({ kind: 'panic', subject: 'director', message: msg });
  }

  const db = decideDatabases(input, { panic });
  reasons.push(...db.reasons);
  alerts.push(...db.alerts);
  const promotion = db.actions.find((a) => a.type === 'promote');
  const managementDependsOn = promotion ? [`promote:${promotion.region}`] : [];

  // Under the panic guard the evidence is suspect: it is treated as unknown — hold-downs and
  // demotions stay as persisted and every region keeps the weight last written — while an
  // operator's drains and forced routes still apply (they are not evidence).
  const maintenance = new Set(overrides.maintenance ?? []);
  const serving = decideServing(input, {
    holdHealth: panic,
    demoted: new Set(Object.keys(db.demoted)),
    maintenance,
  });
  reasons.push(...serving.reasons);
  const out = serving.out;
  const serves = serving.serves;
  const unknown = (id: RegionId, cls: TrafficClass) => {
    if (panic) return true;
    const region = regionById(topology, id);
    return (
      region !== undefined &&
      classEvidence(input.health, region, cls, topology.policy, input.now).status === 'unknown'
    );
  };
  const overridden = (id: RegionId) => overrides.drained.includes(id) || maintenance.has(id);
  let records: RecordPlan[] = topology.records.map((r) =>
    planRecord(
      r,
      { topology, state, overrides, main: db.main, serves, managementDependsOn, unknown, overridden },
      alerts,
    ),
  );
  if (panic)
    records = records.map((r) => (r.changed ? r : { ...r, reason: `held by the panic guard; ${r.reason}` }));
  records = records.map((r) => awaitEvidence(input, r, alerts));
  for (const r of records)
    if (r.changed) reasons.push(`${r.name} → ${describeWeights(r.weights)}: ${r.reason}`);

  return {
    main: db.main,
    epoch: db.epoch,
    records,
    actions: db.actions,
    reasons: unique(reasons),
    alerts,
    serving: servingMap(input, db.main, serves),
    next: {
      epoch: db.epoch,
      main: db.main,
      out,
      weights: Object.fromEntries(records.map((r) => [r.key, r.weights])),
      ...(state.promotion ? { promotion: state.promotion } : {}),
      ...(Object.keys(db.demoted).length > 0 ? { demoted: db.demoted } : {}),
    },
    panic: memory,
  };
}

/**
 * The panic guard's memory after this decision: active while it holds; on the first decision
 * without it, lifted now; the floor is kept until the longest hold-down counted from it has passed.
 */
function panicMemory(input: DecideInput, panic: boolean): PanicMemory {
  if (panic) return { active: true };
  const liftedAt = input.panic?.active ? input.now : input.panic?.liftedAt;
  if (liftedAt === undefined || input.now - liftedAt >= longestHoldDown(input.topology.policy))
    return { active: false };
  return { active: false, liftedAt };
}

/**
 * A record for which nothing was ever written (no persisted weights, none read from live DNS) has
 * no "last answer" to hold. While the evidence about any of its targets is unknown, writing the
 * matrix's answer would move live DNS on no evidence, so the record waits for evidence instead.
 */
function awaitEvidence(input: DecideInput, r: RecordPlan, alerts: Alert[]): RecordPlan {
  if (input.state.weights[r.key] !== undefined || r.class === 'management') return r;
  const def = input.topology.records.find((d) => d.key === r.key);
  if (!def) return r;
  const unknown = Object.keys(def.targets).filter((id) => {
    const region = regionById(input.topology, id);
    return (
      region !== undefined &&
      classEvidence(input.health, region, r.class, input.topology.policy, input.now).status === 'unknown'
    );
  });
  if (unknown.length === 0) return r;
  const msg = `${r.name}: no weights were ever written or read and ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} unknown; writing nothing until there is evidence`;
  alerts.push({ kind: 'no-evidence', subject: r.name, message: msg });
  return { ...r, dependsOn: ['evidence'], reason: `${r.reason}; ${msg}` };
}

/** A plan that changes nothing: the last weights (or the nominal ones when none were written yet). */
function hold(input: DecideInput, why: string, kind: 'frozen'): Omit<Plan, 'panic'> {
  const { topology, state } = input;
  const records = topology.records.map((r) => heldRecord(input, r.key, state.main, [], why));
  return {
    main: state.main,
    epoch: state.epoch,
    records,
    actions: [],
    reasons: [why],
    alerts: [{ kind, subject: 'director', message: why }],
    serving: servingMap(input, state.main, (id, cls) => !(state.out[id]?.includes(cls) ?? false)),
    next: { ...state, weights: Object.fromEntries(records.map((r) => [r.key, r.weights])) },
  };
}

function heldRecord(
  input: DecideInput,
  key: string,
  main: RegionId,
  dependsOn: string[],
  why: string,
): RecordPlan {
  const { topology, state } = input;
  const record = topology.records.find((r) => r.key === key);
  if (!record)
    throw new SwitchyardError(
      'INTERNAL',
      `the engine was asked about record ${key}, which the topology does not have`,
    );
  const previous = state.weights[key];
  // Management always follows the main, even while everything else is held.
  const weights =
    record.class === 'management' || !previous ? nominalWeights(record, main, topology) : { ...previous };
  // Held with nothing written before: there is no answer to hold, and writing one is a change.
  const waits = record.class === 'management' ? dependsOn : previous ? [] : ['held'];
  return {
    key,
    name: record.name,
    class: record.class,
    ...(record.home !== undefined ? { home: record.home } : {}),
    type: record.type,
    weights,
    dependsOn: waits,
    changed: !sameWeights(previous, weights),
    reason: why,
  };
}

function servingMap(
  input: DecideInput,
  main: RegionId,
  serves: (region: RegionId, cls: TrafficClass) => boolean,
): Record<RegionId, Record<TrafficClass, boolean>> {
  const map: Record<RegionId, Record<TrafficClass, boolean>> = {};
  for (const r of input.topology.regions)
    map[r.id] = {
      api: canServe(r, 'api') && serves(r.id, 'api'),
      auth: canServe(r, 'auth') && serves(r.id, 'auth'),
      management: r.id === main,
    };
  return map;
}

/** "r1: gateway, keyManager, database down for 1h" — one line per region with something down. */
function regionSummaries(input: DecideInput): string[] {
  const { topology, health, now } = input;
  const lines: string[] = [];
  for (const region of topology.regions) {
    const unknown = unknownComponents(input, region);
    if (unknown.length > 0)
      lines.push(
        `${region.id}: ${unknown.join(', ')} unknown (not probed yet, or probes stale); no evidence moves nothing`,
      );
    const parts = downComponents(health, region, topology.policy, now);
    if (parts.length === 0) continue;
    const durations: number[] = [];
    if (region.hasGateway)
      durations.push(downFor(evidenceOf(health[region.id]?.gateway, topology.policy, now)));
    if (region.hasKeyManager)
      durations.push(downFor(evidenceOf(health[region.id]?.keyManager, topology.policy, now)));
    for (const d of databaseEvidence(health, region, topology.policy, now)) durations.push(downFor(d));
    const longest = Math.max(...durations.filter((d) => d >= 0));
    lines.push(`${region.id}: ${parts.join(', ')} down for ${formatDuration(longest)}`);
  }
  return lines;
}

function unknownComponents(input: DecideInput, region: Region): string[] {
  const { health, topology, now } = input;
  const out: string[] = [];
  if (region.hasGateway && evidenceOf(health[region.id]?.gateway, topology.policy, now).status === 'unknown')
    out.push('gateway');
  if (
    region.hasKeyManager &&
    evidenceOf(health[region.id]?.keyManager, topology.policy, now).status === 'unknown'
  )
    out.push('keyManager');
  const dbs = databaseEvidence(health, region, topology.policy, now).filter((d) => d.status === 'unknown');
  if (dbs.length > 0)
    out.push(
      dbs.length === region.databases.length ? 'database' : `database(${dbs.map((d) => d.key).join(',')})`,
    );
  return out;
}

function downFor(e: { status: string; forMs: number }): number {
  return e.status === 'down' ? e.forMs : -1;
}

function describeWeights(w: Record<RegionId, number>): string {
  return Object.entries(w)
    .filter(([, v]) => v > 0)
    .map(([id, v]) => `${id}:${v}`)
    .join(' ');
}

function unique(lines: string[]): string[] {
  return [...new Set(lines)];
}
