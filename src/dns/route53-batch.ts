import type { Change } from '@aws-sdk/client-route-53';
import { fqdn } from './route53-names.js';
import type { WeightedSet } from './types.js';

/**
 * Route 53 accepts at most 1,000 ResourceRecord elements and 32,000 characters of values per
 * ChangeResourceRecordSets request, and an UPSERT counts twice towards both. A batch is atomic,
 * so one decision goes in one batch; it is split only at these limits, and never inside a record
 * (a half-applied record could leave all its sets at weight 0).
 */
export const MAX_RECORD_ELEMENTS = 1_000;
export const MAX_VALUE_CHARS = 32_000;

export function toUpsert(set: WeightedSet): Change {
  return {
    Action: 'UPSERT',
    ResourceRecordSet: {
      Name: fqdn(set.name),
      Type: set.type,
      SetIdentifier: set.setIdentifier,
      Weight: set.weight,
      ...(set.alias
        ? {
            AliasTarget: {
              DNSName: fqdn(set.alias.dnsName),
              HostedZoneId: set.alias.hostedZoneId,
              EvaluateTargetHealth: set.alias.evaluateTargetHealth,
            },
          }
        : {
            TTL: set.ttlSeconds,
            ResourceRecords: (set.values ?? []).map((Value) => ({ Value })),
          }),
    },
  };
}

/** Size of one change towards the limits. An alias has no ResourceRecord; counted as one to stay safe. */
export function changeSize(change: Change): { elements: number; chars: number } {
  const factor = change.Action === 'UPSERT' ? 2 : 1;
  const records = change.ResourceRecordSet?.ResourceRecords ?? [];
  const elements = Math.max(1, records.length);
  const chars = records.reduce((n, r) => n + (r.Value?.length ?? 0), 0);
  return { elements: elements * factor, chars: chars * factor };
}

/**
 * Splits changes into as few batches as the limits allow, keeping each record's changes together
 * and in order. A single record bigger than the limits goes alone (Route 53 will say why).
 */
export function splitBatches(
  changes: readonly Change[],
  limits = { elements: MAX_RECORD_ELEMENTS, chars: MAX_VALUE_CHARS },
): Change[][] {
  const groups = new Map<string, Change[]>();
  for (const c of changes) {
    const key = `${c.ResourceRecordSet?.Name}|${c.ResourceRecordSet?.Type}`;
    const g = groups.get(key);
    if (g) g.push(c);
    else groups.set(key, [c]);
  }
  const batches: Change[][] = [];
  let current: Change[] = [];
  let elements = 0;
  let chars = 0;
  for (const group of groups.values()) {
    const size = group
      .map(changeSize)
      .reduce((a, s) => ({ elements: a.elements + s.elements, chars: a.chars + s.chars }), {
        elements: 0,
        chars: 0,
      });
    if (
      current.length > 0 &&
      (elements + size.elements > limits.elements || chars + size.chars > limits.chars)
    ) {
      batches.push(current);
      current = [];
      elements = 0;
      chars = 0;
    }
    current.push(...group);
    elements += size.elements;
    chars += size.chars;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
