import type { RecordDef, RecordType, RegionId } from '../topology/types.js';

/** One weighted record set: one (record, region) pair, identified by its SetIdentifier. */
export interface WeightedSet {
  recordKey: string;
  name: string;
  type: RecordType;
  region: RegionId;
  setIdentifier: string;
  weight: number;
  ttlSeconds: number;
  values?: string[];
  alias?: { dnsName: string; hostedZoneId: string; evaluateTargetHealth: boolean };
}

/** Who writes a change, for the provider's own record of it. */
export interface ApplyMeta {
  origin?: string;
}

/** Desired weights per record key, as the engine's plan gives them. */
export type DesiredWeights = Record<string, Record<RegionId, number>>;

export interface ApplyResult {
  /** Provider-side id of the change (Route 53 change id), if any. */
  changeId?: string;
  /** Write calls made (0 when nothing was sent). */
  writeCalls: number;
  /** Milliseconds from submit until the provider reported the change live (INSYNC), if known. */
  propagationMs?: number;
  /** Every provider-side change id when the write was split into several batches. */
  changeIds?: string[];
  /**
   * Resolves once the service reports the change live, or gives up (syncTimeout). Never rejects:
   * callers may ignore it, so waiting for propagation never blocks the daemon's loop.
   */
  insync?: Promise<InsyncReport>;
}

export interface InsyncReport {
  changeIds: string[];
  status: 'INSYNC' | 'timeout' | 'error';
  /** Milliseconds from the write until INSYNC (or until giving up). */
  propagationMs: number;
}

/**
 * A DNS provider speaks to one DNS service. It never decides anything: the reconciler computes
 * the difference between desired and live weights, and the provider reads and writes sets.
 */
export interface DnsProvider {
  readonly kind: 'memory' | 'file' | 'route53';
  /**
   * The live state of every set the given records define. A set that does not exist is absent.
   * Throws SwitchyardError DNS_OWNERSHIP when a live record with a managed name is not one
   * switchyard may manage (non-weighted routing, unknown set identifier).
   */
  read(records: readonly RecordDef[]): Promise<WeightedSet[]>;
  /** Writes the given sets (create or update) as one atomic batch where the service allows. */
  /**
   * Writes the sets. `meta.origin` says who writes and why ("sy-r2 epoch 3"): Route 53 keeps it as
   * the change's comment, the file provider as `updatedBy`, so DNS itself keeps an audit trail.
   */
  apply(sets: readonly WeightedSet[], meta?: ApplyMeta): Promise<ApplyResult>;
  close?(): Promise<void>;
}
