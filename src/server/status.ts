import type { Alert, Overrides, Status } from '../decide/types.js';
import type { ComponentKind, RecordType, RegionId, Role, TrafficClass } from '../topology/types.js';

/**
 * The document `GET /v1/status` returns and `switchyard status --json` prints. Scripts rely on
 * it: add fields, never rename or remove them without bumping `version`. Times are ISO 8601
 * strings (UTC); null means "never" or "not known yet".
 */
export interface StatusDocument {
  version: 1;
  director: {
    id: string;
    /** The region this instance runs in (its identity as an observer), when configured. */
    region?: string;
    /** standalone (one instance), leader or follower (on etcd), unavailable (etcd not reachable). */
    role: 'standalone' | 'leader' | 'follower' | 'unavailable';
    startedAt: string;
    ready: boolean;
    /** Why the daemon is not ready yet ("first probe round not done"); absent when ready. */
    readyReason?: string;
  };
  generatedAt: string;
  main: RegionId;
  epoch: number;
  overrides: Overrides;
  /** The overrides in force, each with who set it, when and why (when recorded). */
  activeOverrides: ActiveOverride[];
  regions: RegionStatus[];
  targets: TargetStatus[];
  records: RecordStatus[];
  alerts: Alert[];
  /** The most recent decisions, newest first. */
  decisions: DecisionSummary[];
  dns: DnsStatus;
  /** A promotion whose intent is recorded and whose outcome is not. */
  promotion: PromotionStatus | null;
  /** The newest entries of the journal (the audit trail: actions and operator requests), newest first. */
  journal: JournalSummary[];
  /** The instance that acts (on etcd); null when standalone or when no leader is known. */
  leader: {
    id: string;
    region?: string;
    /** True when this instance is the leader. */
    self: boolean;
    /** On the leader: how long before it must have renewed its lease (it steps down then). */
    leaseTimeLeftMs?: number;
    acquiredAt?: string;
  } | null;
  /** Every observer this instance knows of, with what it sees; empty when standalone. */
  observers: Array<{
    id: string;
    region?: string;
    /** Its view arrived recently enough to count. */
    fresh: boolean;
    /** Its votes are not counted: it sees most regions down at once (its own network). */
    discounted: boolean;
    reason?: string;
    view: Record<string, Record<string, 'up' | 'down' | 'unknown'>>;
  }>;
  coordination: {
    role: 'standalone' | 'leader' | 'follower' | 'unavailable';
    quorum?: number;
    /** Distinct regions of live, counted observers (automatic promotion needs three). */
    observerRegions: number;
    reason?: string;
  };
}

export interface ActiveOverride {
  kind: 'drain' | 'freeze' | 'route' | 'maintenance';
  /** The region drained, the record routed, or "director" for a freeze. */
  target: string;
  /** For a forced route: the region it is forced to. */
  to?: RegionId;
  /** The admin token's name; absent for overrides set before identities were recorded. */
  by?: string;
  at?: string;
  reason?: string;
}

export interface JournalSummary {
  at: string;
  epoch: number;
  action: string;
  target: string;
  phase: string;
  detail: string;
  by?: string;
  reason?: string;
}

/**
 * What a region is now, as opposed to its configured role:
 * - main: it holds the writable databases and management traffic;
 * - replica: its databases replicate from the main's;
 * - fenced-old-main: a former main whose databases are read-only or unreachable, waiting to be
 *   rebuilt as a replica of the current main (failback is a planned switchover after that);
 * - split-brain: outside the main, yet a database reports itself writable (it is being fenced),
 *   or its fence after that has not completed;
 * - detached: its databases are read-only primaries that do not replicate from the main (a
 *   split-brain after its fence, or a primary left behind): kept away from auth until rebuilt;
 * - edge: no databases; serves api traffic only.
 */
export type CurrentRole = 'main' | 'replica' | 'fenced-old-main' | 'split-brain' | 'detached' | 'edge';

export interface ComponentStatus {
  /** "gateway", "keyManager" or "database.<key>". */
  name: string;
  kind: ComponentKind;
  status: Status;
  since: string | null;
  detail?: string;
  /** Databases only. */
  role?: 'primary' | 'replica';
  writable?: boolean;
  lagSeconds?: number | null;
  lagBytes?: number | null;
  /** With several observers: each counted observer's view of it, beside the quorum's `status`. */
  observers?: Record<string, 'up' | 'down' | 'unknown'>;
}

export interface RegionStatus {
  id: RegionId;
  /** The configured role (kept for compatibility; the same as `configuredRole`). */
  role: Role;
  configuredRole: Role;
  /** What the region is now (see CurrentRole). */
  currentRole: CurrentRole;
  /** A sentence about the current role ("databases read-only; rebuild it as a replica of r2"). */
  currentRoleDetail?: string;
  /** True for the region currently acting as main (after a failover this differs from `role`). */
  isMain: boolean;
  components: ComponentStatus[];
  /**
   * Per class: does DNS send it traffic — a weight above 0 in the weights actually applied (live
   * DNS as last read or written, else the persisted weights), not what the engine would like.
   */
  serving: Record<TrafficClass, boolean>;
  drained: boolean;
  inMaintenance: boolean;
}

export interface TargetStatus {
  /** "<region>/<component>/<check>". */
  id: string;
  region: RegionId;
  component: string;
  state: Status;
  since: string | null;
  last: { ok: boolean; at: string; latencyMs: number; detail: string } | null;
}

export interface RecordStatus {
  key: string;
  name: string;
  type: RecordType;
  class: TrafficClass;
  home?: RegionId;
  /** Weights the engine last decided, per region (what DNS is being moved to). */
  weights: Record<RegionId, number>;
  /** Weights live in DNS as last read or written; null before the first read. Differs from
   * `weights` while a change is in flight or the DNS API is failing. */
  live: Record<RegionId, number> | null;
  /** The reason of the last change to this record, if any. */
  reason?: string;
}

export interface DecisionSummary {
  at: string;
  changed: boolean;
  reasons: string[];
  /** "promote r2 (epoch 3)", "fence r1", "dns api.r1.example.com/A r1=0 r2=100". */
  actions: string[];
}

export interface DnsStatus {
  provider: 'memory' | 'file' | 'route53';
  dryRun: boolean;
  /** The last apply, a no-op included (the loop applies every second): rather read lastChangeAt. */
  lastApplyAt: string | null;
  /** When switchyard last changed a weight in DNS; null when it has not since it started. */
  lastChangeAt: string | null;
  /** When live DNS was last read successfully; null before the first read. */
  lastReadAt: string | null;
  lastApplyOk: boolean | null;
  /** True while DNS writes are failing (the director keeps the last good answer and retries). */
  failing: boolean;
  lastError?: string;
}

export interface PromotionStatus {
  from: RegionId;
  to: RegionId;
  epoch: number;
  startedAt: string;
  force: boolean;
}

/** ms since the epoch → ISO string; null stays null. A helper for the daemon building the document. */
export function isoTime(ms: number | null | undefined): string | null {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString() : null;
}
