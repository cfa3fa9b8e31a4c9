import type { DatabaseConfig } from '../../config/schema.js';
import { mapPgStatus, type PgStatusRow } from '../../database/pg-status.js';
import type { DbStatus } from '../../database/types.js';
import { SwitchyardError } from '../../util/errors.js';
import { Effects } from './effects.js';

/**
 * The simulated databases: one node per (region, database key), each a PostgreSQL-like server
 * with a role, a WAL position, replication from an upstream with lag, a soft fence
 * (default_transaction_read_only, which a session can turn off again), a hard fence (the server
 * stopped) and crashes (a crashed primary restarts writable unless its fence persisted). The
 * world keeps logs of everything that matters to the invariants: who fenced and promoted what,
 * and which node accepted writes when, at which heartbeat epoch.
 */

export interface DbEffect {
  /** `crash`: the server process is down (connections refused); `host`: the host is gone (no answer). */
  down?: 'crash' | 'host';
  /** Added replay delay on a replica (ms): a replica falling behind. */
  applyLagMs?: number;
  /** The hard fence's control plane (cloud API) does not work for this node. */
  hardFenceFails?: boolean;
}

export type DbEventKind =
  | 'fence'
  | 'fence-failed'
  | 'hard-fence'
  | 'promote'
  | 'unfence'
  | 'crash'
  | 'restart'
  | 'fence-undone'
  | 'rebuild';

export interface DbEvent {
  at: number;
  kind: DbEventKind;
  node: string;
  /** The instance that acted, for fences and promotions. */
  by?: string;
  epoch?: number;
  detail: string;
  /** Promotions: the lag the replica itself reported just before (what any director could see). */
  reportedLag?: { seconds: number | null; bytes: number | null };
  /** Promotions: bytes the old primary had accepted that the promoted node never received. */
  lostBytes?: number;
}

/** Consecutive writes accepted by one node at one epoch. */
export interface WriteRun {
  node: string;
  epoch: number;
  from: number;
  to: number;
  count: number;
}

export class SimDatabase {
  readonly id: string;
  role: 'primary' | 'replica';
  readOnly = false;
  /** The soft fence survives a restart (PostgreSQL's ALTER SYSTEM); MariaDB's SET GLOBAL does not. */
  readOnlyPersistent = false;
  /** Stopped by the hard fence: stays down whatever else happens. */
  hardFenced = false;
  upstream: string | undefined;
  /** Primary: current WAL position; replica: replay position (bytes). */
  position = 16_777_216;
  received = 16_777_216;
  /** Highest epoch written to the heartbeat table. */
  epoch = 0;
  readonly effects = new Effects<DbEffect>();
  /** Client sessions open on the server (ended by a fence). */
  sessions = 4;
  /** Last successful fence that is still in force (cleared by promote, unfence, a fence undone). */
  fencedAt: number | undefined;
  /** A director fenced this node successfully at least once. */
  everFenced = false;
  /** What last made this node writable: its first life, a director (promote, unfence), or the world. */
  writableCause: 'initial' | 'promote' | 'unfence' | 'restart' | 'fence-undone' = 'initial';
  /** Write history (primary): positions and the virtual times they were committed (one before the start). */
  private hPos: number[] = [16_777_216];
  private hAt: number[] = [-1_000];
  private basePos = 16_777_216;
  private running = true;

  constructor(
    readonly region: string,
    readonly key: string,
    readonly config: DatabaseConfig,
    primary: boolean,
    upstream?: string,
  ) {
    this.id = `${region}.${key}`;
    this.role = primary ? 'primary' : 'replica';
    this.upstream = primary ? undefined : upstream;
  }

  get engine(): 'postgres' | 'mysql' | 'mariadb' {
    return this.config.engine;
  }

  /** The server process runs (it may still be unreachable over the network). */
  get isRunning(): boolean {
    return this.running;
  }

  /** The host answers at all (a crashed process refuses; a lost host does not answer). */
  get hostUp(): boolean {
    for (const e of this.effects.values()) if (e.down === 'host') return false;
    return true;
  }

  /** Accepts ordinary writes right now. */
  get writable(): boolean {
    return this.running && this.role === 'primary' && !this.readOnly;
  }

  get applyLagMs(): number {
    let ms = 5;
    for (const e of this.effects.values()) ms = Math.max(ms, 5 + (e.applyLagMs ?? 0));
    return ms;
  }

  get hardFenceWorks(): boolean {
    for (const e of this.effects.values()) if (e.hardFenceFails || e.down === 'host') return false;
    return true;
  }

  /** Recomputes whether the process runs after its effects changed; returns the transition. */
  reconcileProcess(): 'crashed' | 'restarted' | undefined {
    let down = this.hardFenced;
    for (const e of this.effects.values()) if (e.down) down = true;
    if (this.running && down) {
      this.running = false;
      this.sessions = 0;
      return 'crashed';
    }
    if (!this.running && !down) {
      this.running = true;
      // A restart forgets a fence set only in memory: the crashed primary comes back writable.
      this.readOnly = this.readOnlyPersistent;
      this.sessions = 4;
      if (this.writable) this.writableCause = 'restart';
      return 'restarted';
    }
    return undefined;
  }

  /** A write committed at `at`; the caller checked `writable`. */
  commit(bytes: number, at: number): void {
    this.position += bytes;
    this.hPos.push(this.position);
    this.hAt.push(at);
    if (this.hPos.length > 200_000) {
      this.basePos = this.hPos[99_999] as number;
      this.hPos = this.hPos.slice(100_000);
      this.hAt = this.hAt.slice(100_000);
    }
  }

  /** Position this primary had reached at time `t`. */
  positionAt(t: number): number {
    let lo = 0;
    let hi = this.hAt.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.hAt[mid] as number) <= t) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? this.basePos : (this.hPos[found] as number);
  }

  /** Commit time of the last write at or below `pos`; undefined when it predates the history. */
  commitTimeOf(pos: number): number | undefined {
    let lo = 0;
    let hi = this.hPos.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if ((this.hPos[mid] as number) <= pos) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found < 0 ? undefined : this.hAt[found];
  }

  /** Starts a new history (a promotion: this node's own writes from here on). */
  resetHistory(): void {
    this.hPos = [];
    this.hAt = [];
    this.basePos = this.position;
  }
}

/** PostgreSQL LSN text ("0/1A2B3C") of a byte position. */
export function lsn(pos: number): string {
  const hi = Math.floor(pos / 2 ** 32);
  const lo = pos - hi * 2 ** 32;
  return `${hi.toString(16).toUpperCase()}/${lo.toString(16).toUpperCase()}`;
}

export function parseLsn(text: string): number | undefined {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(text.trim());
  if (!m) return undefined;
  return Number.parseInt(m[1] as string, 16) * 2 ** 32 + Number.parseInt(m[2] as string, 16);
}

export interface RegionDatabases {
  region: string;
  role: 'main' | 'failover' | 'edge';
  databases: Record<string, DatabaseConfig>;
}

/**
 * Every database node, replication between them, and the logs. Replication is advanced lazily:
 * every query and every change first calls `advance(now)`, and between two calls nothing that
 * affects replication changed (faults change it only through this class), so the interval can
 * be computed in one step.
 */
export class Databases {
  readonly nodes = new Map<string, SimDatabase>();
  readonly events: DbEvent[] = [];
  readonly writeRuns: WriteRun[] = [];
  /** Writes refused (read-only, down) and accepted, for the report. */
  readonly writeCounts = { accepted: 0, refused: 0 };
  /** Bumped on every change of role, writability or fence. */
  version = 0;
  private lastAdvance = 0;

  constructor(
    regions: readonly RegionDatabases[],
    private readonly replicationState: (from: string, to: string) => { cut: boolean; delayMs: number },
  ) {
    const main = regions.find((r) => r.role === 'main');
    for (const r of regions)
      for (const [key, cfg] of Object.entries(r.databases)) {
        const node = new SimDatabase(r.region, key, cfg, r.role === 'main', main?.region);
        this.nodes.set(node.id, node);
      }
  }

  node(region: string, key: string): SimDatabase {
    const n = this.nodes.get(`${region}.${key}`);
    if (!n) throw new SwitchyardError('INTERNAL', `no simulated database ${region}.${key}`);
    return n;
  }

  /** Nodes of one database key, in region order. */
  ofKey(key: string): SimDatabase[] {
    return [...this.nodes.values()].filter((n) => n.key === key);
  }

  /** Nodes of one region. */
  ofRegion(region: string): SimDatabase[] {
    return [...this.nodes.values()].filter((n) => n.region === region);
  }

  keys(): string[] {
    return [...new Set([...this.nodes.values()].map((n) => n.key))];
  }

  /** Brings replication up to `now`. */
  advance(now: number): void {
    if (now <= this.lastAdvance) return;
    this.lastAdvance = now;
    for (const r of this.nodes.values()) {
      if (r.role !== 'replica' || !r.upstream || !r.isRunning) continue;
      const u = this.nodes.get(`${r.upstream}.${r.key}`);
      if (!u) continue;
      const link = this.replicationState(u.region, r.region);
      const streaming = this.streaming(r, u, link.cut);
      if (streaming) r.received = Math.max(r.received, u.positionAt(now - link.delayMs));
      r.position = Math.max(
        r.position,
        Math.min(r.received, u.positionAt(now - link.delayMs - r.applyLagMs)),
      );
    }
  }

  streaming(r: SimDatabase, u: SimDatabase, cut: boolean): boolean {
    return r.isRunning && u.isRunning && u.role === 'primary' && !cut;
  }

  /** Applies a node's effects (a crash, a restart) and logs the transition. */
  reconcile(node: SimDatabase, now: number, why: string): void {
    this.advance(now);
    const t = node.reconcileProcess();
    if (t === 'crashed') this.log({ at: now, kind: 'crash', node: node.id, detail: why });
    if (t === 'restarted' && node.fencedAt !== undefined && !node.readOnly) {
      node.fencedAt = undefined;
      this.log({
        at: now,
        kind: 'fence-undone',
        node: node.id,
        detail: 'the SQL fence did not survive the restart',
      });
    }
    if (t === 'restarted')
      this.log({
        at: now,
        kind: 'restart',
        node: node.id,
        detail: `${why}; restarted ${node.role}${node.role === 'primary' ? (node.readOnly ? ', read-only (fence persisted)' : ', writable') : ''}`,
      });
    if (t) this.version++;
  }

  /** What the server would say about itself (the probes' and status()'s answer). */
  status(node: SimDatabase, now: number): DbStatus {
    this.advance(now);
    if (node.engine === 'postgres') return mapPgStatus(this.pgRow(node, now));
    const replica = node.role === 'replica';
    const lag = this.reportedLag(node, now);
    return {
      engine: node.engine,
      reachable: true,
      role: node.role,
      writable: node.writable,
      position: `0-1-${node.position}`,
      lagSeconds: replica ? lag.seconds : null,
      lagBytes: replica ? lag.bytes : null,
      streaming: replica ? this.isStreaming(node) : undefined,
      detail: `${node.role}${node.writable ? ', writable' : ', read-only'}`,
    };
  }

  isStreaming(node: SimDatabase): boolean {
    if (node.role !== 'replica' || !node.upstream) return false;
    const u = this.nodes.get(`${node.upstream}.${node.key}`);
    return u !== undefined && this.streaming(node, u, this.replicationState(u.region, node.region).cut);
  }

  /** The lag a replica can see by itself (received but not replayed), as pg reports it. */
  reportedLag(node: SimDatabase, now: number): { seconds: number | null; bytes: number | null } {
    this.advance(now);
    if (node.role !== 'replica') return { seconds: null, bytes: null };
    const bytes = Math.max(0, node.received - node.position);
    if (bytes === 0) return { seconds: 0, bytes };
    const u = node.upstream ? this.nodes.get(`${node.upstream}.${node.key}`) : undefined;
    const at = u?.commitTimeOf(node.position);
    return { seconds: at === undefined ? null : Math.max(0, (now - at) / 1000), bytes };
  }

  /** Ground truth: bytes the upstream accepted that this replica has not received. */
  unreceivedBytes(node: SimDatabase, now: number): number {
    this.advance(now);
    const u = node.upstream ? this.nodes.get(`${node.upstream}.${node.key}`) : undefined;
    return u ? Math.max(0, u.position - node.received) : 0;
  }

  /** An application write to `node`; returns whether it was accepted. */
  write(node: SimDatabase, bytes: number, now: number): boolean {
    this.advance(now);
    if (!node.writable) {
      this.writeCounts.refused++;
      return false;
    }
    node.commit(bytes, now);
    this.writeCounts.accepted++;
    const last = this.writeRuns[this.writeRuns.length - 1];
    if (last && last.node === node.id && last.epoch === node.epoch) {
      last.to = now;
      last.count++;
    } else this.writeRuns.push({ node: node.id, epoch: node.epoch, from: now, to: now, count: 1 });
    return true;
  }

  log(e: DbEvent): void {
    this.events.push(e);
    this.version++;
  }

  /** The legitimate primary of a key: the primary with the newest heartbeat epoch (writable first on a tie). */
  primaryOf(key: string): SimDatabase | undefined {
    let best: SimDatabase | undefined;
    for (const n of this.ofKey(key)) {
      if (n.role !== 'primary') continue;
      if (!best || n.epoch > best.epoch || (n.epoch === best.epoch && n.writable && !best.writable)) best = n;
    }
    return best;
  }

  /** Primaries that are not the legitimate one, and servers stopped by a hard fence: they wait for an operator. */
  detached(): SimDatabase[] {
    return [...this.nodes.values()].filter(
      (n) => n.hardFenced || (n.role === 'primary' && n !== this.primaryOf(n.key)),
    );
  }

  /**
   * The runbook's rebuild: an operator turns a detached old primary (or a hard-fenced one) into a
   * replica of the legitimate primary again, from a fresh base backup, and starts it.
   */
  rebuild(node: SimDatabase, now: number): boolean {
    const primary = this.primaryOf(node.key);
    if (!primary || primary === node) return false;
    this.advance(now);
    node.role = 'replica';
    node.upstream = primary.region;
    node.readOnly = false;
    node.readOnlyPersistent = false;
    node.hardFenced = false;
    node.fencedAt = undefined;
    node.everFenced = false;
    node.writableCause = 'initial';
    node.epoch = primary.epoch;
    node.position = primary.position;
    node.received = primary.position;
    node.resetHistory();
    this.log({ at: now, kind: 'rebuild', node: node.id, detail: `rebuilt as a replica of ${primary.id}` });
    this.reconcile(node, now, 'rebuilt by an operator');
    return true;
  }

  /** Writable nodes of one key right now. */
  writableOf(key: string): SimDatabase[] {
    return this.ofKey(key).filter((n) => n.writable);
  }

  private pgRow(node: SimDatabase, now: number): PgStatusRow {
    const ro = node.readOnly ? 'on' : 'off';
    if (node.role === 'primary')
      return {
        in_recovery: false,
        tx_read_only: ro,
        default_read_only: ro,
        current_lsn: lsn(node.position),
        receive_lsn: null,
        replay_lsn: null,
        lag_bytes: null,
        replay_age: null,
        replay_paused: null,
        receiver_status: null,
      };
    const lag = this.reportedLag(node, now);
    const u = node.upstream ? this.nodes.get(`${node.upstream}.${node.key}`) : undefined;
    const replayedAt = u?.commitTimeOf(node.position);
    return {
      in_recovery: true,
      tx_read_only: 'on',
      default_read_only: ro,
      current_lsn: null,
      receive_lsn: lsn(node.received),
      replay_lsn: lsn(node.position),
      lag_bytes: String(lag.bytes ?? 0),
      replay_age: replayedAt === undefined ? null : Math.max(0, (now - replayedAt) / 1000),
      replay_paused: false,
      receiver_status: this.isStreaming(node) ? 'streaming' : null,
    };
  }
}
