import type { RecordDef, RecordTarget, RegionId } from '../topology/types.js';
import type { ErrorCode } from '../util/errors.js';
import type { DesiredWeights, WeightedSet } from './types.js';

/**
 * The pure planner: desired weights + configured records + live sets → the sets to write.
 * Modelled on external-dns's plan.Calculate(): no I/O, deterministic, and the safety guard
 * (never leave a record with every weight at zero) is applied here, so it holds whatever the
 * engine asks for.
 */

/** Codes of the error catalogue (src/util/errors.ts, docs/errors.md), so status and logs share them. */
export type PlanProblemCode = Extract<
  ErrorCode,
  /** A record's changes were dropped: afterwards every one of its sets would weigh 0. */
  | 'DNS_ALL_ZERO'
  /** A configured set is not live and createMissing is off. */
  | 'DNS_MISSING_SET'
  /** A desired weight names a region the record has no target for. */
  | 'DNS_UNKNOWN_REGION'
  /** A desired weight names a record key that is not configured. */
  | 'DNS_UNKNOWN_RECORD'
  /** A desired weight is not an integer 0–255; the record's changes were dropped. */
  | 'DNS_INVALID_WEIGHT'
>;

export interface PlanProblem {
  code: PlanProblemCode;
  record: string;
  region?: RegionId;
  message: string;
}

export interface PlanOptions {
  createMissing: boolean;
}

export interface Plan {
  /** Sets to write (create or update), grouped by record in configuration order. */
  changes: WeightedSet[];
  problems: PlanProblem[];
}

export function planChanges(
  records: readonly RecordDef[],
  live: readonly WeightedSet[],
  desired: DesiredWeights,
  opts: PlanOptions,
): Plan {
  const changes: WeightedSet[] = [];
  const problems: PlanProblem[] = [];
  const liveByRecord = groupByRecord(live);
  const known = new Set(records.map((r) => r.key));

  for (const key of Object.keys(desired)) {
    if (!known.has(key))
      problems.push({ code: 'DNS_UNKNOWN_RECORD', record: key, message: `no record "${key}" is configured` });
  }

  for (const record of records) {
    const want = desired[record.key];
    if (want === undefined) continue;
    const result = planRecord(record, liveByRecord.get(record.key) ?? [], want, opts);
    problems.push(...result.problems);
    changes.push(...result.changes);
  }
  return { changes, problems };
}

function planRecord(
  record: RecordDef,
  live: readonly WeightedSet[],
  want: Record<RegionId, number>,
  opts: PlanOptions,
): Plan {
  const problems: PlanProblem[] = [];
  const changes: WeightedSet[] = [];

  for (const [region, weight] of Object.entries(want)) {
    if (record.targets[region] === undefined) {
      problems.push({
        code: 'DNS_UNKNOWN_REGION',
        record: record.key,
        region,
        message: `${record.key}: desired weight for region "${region}" ignored, the record has no target there`,
      });
    } else if (!isValidWeight(weight)) {
      return {
        changes: [],
        problems: [
          ...problems,
          {
            code: 'DNS_INVALID_WEIGHT',
            record: record.key,
            region,
            message: `${record.key}: desired weight ${weight} for "${region}" is not an integer 0–255; record left unchanged`,
          },
        ],
      };
    }
  }

  const liveById = new Map(live.map((s) => [s.setIdentifier, s]));
  for (const [region, target] of Object.entries(record.targets)) {
    const current = liveById.get(target.setIdentifier);
    const weight = want[region] ?? current?.weight;
    if (current === undefined) {
      if (weight === undefined) continue; // nothing asked of a set that does not exist
      if (!opts.createMissing) {
        problems.push({
          code: 'DNS_MISSING_SET',
          record: record.key,
          region,
          message: `${record.key}: set "${target.setIdentifier}" (${region}) does not exist and createMissing is off`,
        });
        continue;
      }
    }
    const next = wantedSet(record, region, target, weight ?? 0);
    if (current === undefined || differs(current, next)) changes.push(next);
  }

  if (changes.length > 0 && allZeroAfter(live, changes)) {
    return {
      changes: [],
      problems: [
        ...problems,
        {
          code: 'DNS_ALL_ZERO',
          record: record.key,
          message: `${record.key}: refused a change that would leave every set at weight 0 (Route 53 would then answer with all of them); the last good weights stay`,
        },
      ],
    };
  }
  return { changes, problems };
}

function wantedSet(record: RecordDef, region: RegionId, target: RecordTarget, weight: number): WeightedSet {
  return {
    recordKey: record.key,
    name: record.name,
    type: record.type,
    region,
    setIdentifier: target.setIdentifier,
    weight,
    ttlSeconds: record.ttlSeconds,
    ...(target.values ? { values: [...target.values] } : {}),
    ...(target.alias ? { alias: { ...target.alias } } : {}),
  };
}

/** True when, after the changes, the record has at least one set and every set weighs 0. */
function allZeroAfter(live: readonly WeightedSet[], changes: readonly WeightedSet[]): boolean {
  const after = new Map(live.map((s) => [s.setIdentifier, s.weight]));
  for (const c of changes) after.set(c.setIdentifier, c.weight);
  return after.size > 0 && [...after.values()].every((w) => w === 0);
}

export function isValidWeight(w: number): boolean {
  return Number.isInteger(w) && w >= 0 && w <= 255;
}

/** Whether writing `next` would change anything Route 53 serves (weight, values/alias, TTL). */
export function differs(current: WeightedSet, next: WeightedSet): boolean {
  if (current.weight !== next.weight) return true;
  if (next.alias || current.alias) {
    if (!next.alias || !current.alias) return true;
    return (
      normalizeDnsName(current.alias.dnsName) !== normalizeDnsName(next.alias.dnsName) ||
      current.alias.hostedZoneId !== next.alias.hostedZoneId ||
      current.alias.evaluateTargetHealth !== next.alias.evaluateTargetHealth
    );
  }
  if (current.ttlSeconds !== next.ttlSeconds) return true;
  return !sameValues(current.values ?? [], next.values ?? [], current.type === 'CNAME');
}

function sameValues(a: readonly string[], b: readonly string[], dnsNames: boolean): boolean {
  if (a.length !== b.length) return false;
  const norm = (v: string) => (dnsNames ? normalizeDnsName(v) : v.trim().toLowerCase());
  const sa = a.map(norm).sort();
  const sb = b.map(norm).sort();
  return sa.every((v, i) => v === sb[i]);
}

export function normalizeDnsName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

function groupByRecord(live: readonly WeightedSet[]): Map<string, WeightedSet[]> {
  const out = new Map<string, WeightedSet[]>();
  for (const s of live) {
    const list = out.get(s.recordKey);
    if (list) list.push(s);
    else out.set(s.recordKey, [s]);
  }
  return out;
}

/** Weights per record key and region, as /v1/status and the engine's "last good" state want them. */
export function weightsOf(sets: readonly WeightedSet[]): Record<string, Record<RegionId, number>> {
  const out: Record<string, Record<RegionId, number>> = {};
  for (const s of sets) {
    const rec = out[s.recordKey] ?? {};
    rec[s.region] = s.weight;
    out[s.recordKey] = rec;
  }
  return out;
}
