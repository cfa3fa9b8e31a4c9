import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { RecordDef } from '../topology/types.js';
import { canonicalName } from './route53-names.js';
import type { WeightedSet } from './types.js';

/**
 * Turns the live record sets Route 53 listed into WeightedSets, and refuses (as `refused`) every
 * live set at a managed name that switchyard may not own: a non-weighted routing policy, or a
 * weighted set whose identifier the configuration does not name. Pure: no I/O.
 */
export interface AdoptResult {
  sets: WeightedSet[];
  refused: string[];
}

export function adoptLiveSets(
  records: readonly RecordDef[],
  live: readonly ResourceRecordSet[],
): AdoptResult {
  const byName = new Map<string, RecordDef[]>();
  for (const r of records) {
    const name = canonicalName(r.name);
    byName.set(name, [...(byName.get(name) ?? []), r]);
  }
  const sets: WeightedSet[] = [];
  const refused: string[] = [];
  for (const rrs of live) {
    const name = canonicalName(rrs.Name ?? '');
    const managed = byName.get(name);
    if (!managed) continue;
    const type = rrs.Type ?? '';
    const record = managed.find((r) => r.type === type);
    if (!record) {
      // A CNAME cannot share its name with anything; any other type at the name is not ours to judge.
      if (type === 'CNAME' || managed.some((r) => r.type === 'CNAME'))
        refused.push(
          `${name} ${type}: a ${type} record at a name switchyard manages as ${managed.map((r) => r.type).join('/')}`,
        );
      continue;
    }
    const policy = routingPolicy(rrs);
    if (policy !== 'weighted') {
      refused.push(
        `${record.key}: live record uses ${policy} routing, not weighted; switchyard will not change it`,
      );
      continue;
    }
    const entry = Object.entries(record.targets).find(([, t]) => t.setIdentifier === rrs.SetIdentifier);
    if (!entry) {
      refused.push(
        `${record.key}: live weighted set "${rrs.SetIdentifier}" is not named in the configuration (configured: ${Object.values(
          record.targets,
        )
          .map((t) => t.setIdentifier)
          .join(', ')})`,
      );
      continue;
    }
    const [region] = entry;
    sets.push({
      recordKey: record.key,
      name: record.name,
      type: record.type,
      region,
      setIdentifier: rrs.SetIdentifier as string,
      weight: rrs.Weight as number,
      ttlSeconds: rrs.TTL ?? 0,
      ...(rrs.AliasTarget
        ? {
            alias: {
              dnsName: canonicalName(rrs.AliasTarget.DNSName ?? ''),
              hostedZoneId: rrs.AliasTarget.HostedZoneId ?? '',
              evaluateTargetHealth: rrs.AliasTarget.EvaluateTargetHealth ?? false,
            },
          }
        : { values: (rrs.ResourceRecords ?? []).map((r) => r.Value ?? '') }),
    });
  }
  return { sets, refused };
}

export function routingPolicy(rrs: ResourceRecordSet): string {
  if (rrs.Weight !== undefined && rrs.SetIdentifier !== undefined) return 'weighted';
  if (rrs.Region !== undefined) return 'latency';
  if (rrs.Failover !== undefined) return 'failover';
  if (rrs.GeoLocation !== undefined) return 'geolocation';
  if (rrs.GeoProximityLocation !== undefined) return 'geoproximity';
  if (rrs.CidrRoutingConfig !== undefined) return 'IP-based';
  if (rrs.MultiValueAnswer !== undefined) return 'multivalue answer';
  return 'simple';
}
