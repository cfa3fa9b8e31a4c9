/** The vocabulary of a deployment, shared by every layer. Plain data: no I/O, no classes. */

export type RegionId = string;
export type Role = 'main' | 'failover' | 'edge';
export type TrafficClass = 'api' | 'auth' | 'management';
export type ComponentKind = 'gateway' | 'keyManager' | 'database';
export type RecordType = 'A' | 'AAAA' | 'CNAME';

export const TRAFFIC_CLASSES: readonly TrafficClass[] = ['api', 'auth', 'management'];
export const COMPONENT_KINDS: readonly ComponentKind[] = ['gateway', 'keyManager', 'database'];

/** Where a region's traffic goes when it cannot serve it. */
export type Fallback =
  | { kind: 'preference'; order: RegionId[] }
  | { kind: 'split'; weights: Record<RegionId, number> };

export interface Region {
  id: RegionId;
  role: Role;
  hasGateway: boolean;
  hasKeyManager: boolean;
  /** Database keys (e.g. "apim", "shared"); empty for edge regions. */
  databases: string[];
  fallback: Fallback;
  /** True when `fallback` came from the config rather than from the roles. */
  fallbackConfigured: boolean;
}

export interface RecordTarget {
  weight: number;
  setIdentifier: string;
  values?: string[];
  alias?: { dnsName: string; hostedZoneId: string; evaluateTargetHealth: boolean };
}

export interface RecordDef {
  /** Stable key: name and type, since one name may carry A and AAAA sets. */
  key: string;
  name: string;
  class: TrafficClass;
  home?: RegionId;
  type: RecordType;
  ttlSeconds: number;
  targets: Record<RegionId, RecordTarget>;
}

export interface PromotionPolicy {
  mode: 'automatic' | 'manual';
  promoteAfterMs: number;
  maxLagSeconds: number;
  maxLagBytes: number;
}

export interface Policy {
  failAfterMs: number;
  recoverAfterMs: number;
  staleAfterMs: number;
  panicThreshold: number;
  promotion: PromotionPolicy;
}

export interface Topology {
  /** Regions in a stable order (configuration order). */
  regions: Region[];
  /** The main region named by the configuration; the live main is in the state. */
  configuredMain: RegionId;
  records: RecordDef[];
  policy: Policy;
}
