import type { DesiredWeights, WeightedSet } from '../../src/dns/types.js';
import type { RecordDef } from '../../src/topology/types.js';
import { E2E_RECORDS } from './e2e-config.js';
import type { EmuRecordSet, Route53Emulator } from './route53-emulator.js';

/** Shared fixtures for the DNS tests and benchmarks: records, live sets, desired weights. */

export function record(
  name: string,
  regions: readonly string[],
  opts: { ttl?: number; zone?: string } = {},
): RecordDef {
  const targets: RecordDef['targets'] = {};
  regions.forEach((r, i) => {
    targets[r] = { weight: 100, setIdentifier: r, values: [`192.0.2.${i + 1}`] };
  });
  return { key: `${name}/A`, name, class: 'api', type: 'A', ttlSeconds: opts.ttl ?? 60, targets };
}

/** The seed's layout: 4 regions, api/auth per region plus one management name (9 records). */
export function seedLayout(zone = 'example.com'): RecordDef[] {
  const regions = ['r1', 'r2', 'r3', 'r4'];
  const out: RecordDef[] = [];
  for (const r of regions)
    out.push(record(`api.${r}.${zone}`, r === 'r1' || r === 'r2' ? ['r1', 'r2'] : [r, 'r1', 'r2']));
  for (const r of regions) out.push({ ...record(`auth.${r}.${zone}`, ['r1', 'r2']), class: 'auth' });
  out.push({ ...record(`manage.${zone}`, ['r1', 'r2'], { ttl: 30 }), class: 'management' });
  return out;
}

/** `n` records with `regions` targets each. */
export function manyRecords(
  n: number,
  regions: readonly string[] = ['r1', 'r2'],
  zone = 'example.com',
): RecordDef[] {
  return Array.from({ length: n }, (_, i) => record(`svc${String(i).padStart(4, '0')}.${zone}`, regions));
}

/** Live sets as the config describes them, the first region at `first`, the others at `others`. */
export function liveSets(records: readonly RecordDef[], first = 100, others = 0): WeightedSet[] {
  return records.flatMap((r) =>
    Object.entries(r.targets).map(([region, t], i) => ({
      recordKey: r.key,
      name: r.name,
      type: r.type,
      region,
      setIdentifier: t.setIdentifier,
      weight: i === 0 ? first : others,
      ttlSeconds: r.ttlSeconds,
      ...(t.values ? { values: [...t.values] } : {}),
    })),
  );
}

export function asEmulatorSets(sets: readonly WeightedSet[]): EmuRecordSet[] {
  return sets.map((s) => ({
    name: s.name,
    type: s.type,
    setIdentifier: s.setIdentifier,
    weight: s.weight,
    ttl: s.ttlSeconds,
    ...(s.values ? { values: [...s.values] } : {}),
  }));
}

/** Every record: the first region 100, the others 0 (or the reverse with `flip`). */
export function desiredAll(records: readonly RecordDef[], flip = false): DesiredWeights {
  const out: DesiredWeights = {};
  for (const r of records) {
    const regions = Object.keys(r.targets);
    out[r.key] = Object.fromEntries(regions.map((g, i) => [g, (i === 0) !== flip ? 100 : 0]));
  }
  return out;
}

/** Lets pending promise callbacks and I/O callbacks run. */
export async function flush(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

/**
 * Seeds the emulator's zone with the e2e configuration's weighted sets (SetIdentifier = region,
 * TTL 60, the configured value) at the given weights; records named in `skip` are left out.
 */
export function seedE2eZone(
  emu: Route53Emulator,
  weights: Record<string, Record<string, number>>,
  skip: readonly string[] = [],
): void {
  for (const r of E2E_RECORDS) {
    if (skip.includes(r.name)) continue;
    for (const [region, ip] of Object.entries(r.targets))
      emu.seed({
        name: r.name,
        type: 'A',
        setIdentifier: region,
        weight: weights[`${r.name}/A`]?.[region] ?? 0,
        ttl: 60,
        values: [ip],
      });
  }
}

/** The zone's weighted sets as weights per record key ("api.r1.example.com/A") and set identifier. */
export function zoneWeights(emu: Route53Emulator): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const s of emu.list()) {
    if (s.setIdentifier === undefined || s.weight === undefined) continue;
    const key = `${s.name.replace(/\.$/, '')}/${s.type}`;
    out[key] = { ...out[key], [s.setIdentifier]: s.weight };
  }
  return Object.fromEntries(
    Object.entries(out)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))]),
  );
}
