import type { DatabaseConfig } from '../../config/schema.js';
import { beyondBound } from '../../database/common.js';
import { fail } from '../../database/failure.js';
import type {
  CatchUpResult,
  DbFailure,
  DbStatus,
  FenceOptions,
  FenceResult,
  PromoteOptions,
  PromoteResult,
  Promoter,
  UnfenceResult,
} from '../../database/types.js';
import type { ErrorCode } from '../../util/errors.js';
import type { Random } from '../../util/random.js';
import type { SimClock } from '../clock.js';
import type { Kernel } from '../kernel.js';
import { draw } from '../random.js';
import { type Databases, lsn, parseLsn, type SimDatabase } from './databases.js';
import type { Network } from './network.js';
import { type RpcOutcome, rpc, type ServerReply } from './rpc.js';

export interface PromoterWorld {
  kernel: Kernel;
  network: Network;
  databases: Databases;
  pathRandom(observer: string, region: string): Random;
  /** A stream for server-side durations (promotion time, sessions). */
  stream(name: string): Random;
}

/** The daemon's promoter factory port. */
export type PromoterFactory = (region: string, key: string, db: DatabaseConfig) => Promoter;

/**
 * A promoter for one observer: every call goes over that observer's link to the database's
 * region and acts on the simulated server as the PostgreSQL promoter does — the SQL fence
 * (read-only default, sessions ended; persistent on PostgreSQL, not on MariaDB), then the hard
 * fence through the cloud control plane (it stops the server; it works across a partition of
 * the SQL path, not in a full region outage); promotion replays what was received, clears a
 * fence, then writes the heartbeat epoch (refusing a stale one, after the node is already
 * writable, exactly as the real code orders it). Bounds are the configuration's.
 */
export function simPromoterFactory(world: PromoterWorld, observer: string, clock: SimClock): PromoterFactory {
  return (region, key, db) => new SimPromoter(world, observer, clock, world.databases.node(region, key), db);
}

class SimPromoter implements Promoter {
  readonly engine: DbStatus['engine'];
  readonly label: string;
  private readonly random: Random;
  private readonly serverRandom: Random;

  constructor(
    private readonly world: PromoterWorld,
    private readonly observer: string,
    private readonly clock: SimClock,
    private readonly node: SimDatabase,
    private readonly db: DatabaseConfig,
  ) {
    this.engine = db.engine;
    this.label = `${db.host}/${db.database}`;
    this.random = world.pathRandom(observer, node.region);
    this.serverRandom = world.stream(`db-server.${node.id}`);
  }

  private call<T>(timeoutMs: number, server: () => ServerReply<T>): Promise<RpcOutcome<T>> {
    return rpc(
      this.world,
      { observer: this.observer, region: this.node.region, clock: this.clock, random: this.random },
      { timeoutMs },
      server,
    );
  }

  /** The server as a connection finds it: host gone (no answer), process down or stopped (refused). */
  private reach<T>(ms: number, apply: () => T): ServerReply<T> {
    if (!this.node.hostUp) return { hang: true };
    if (!this.node.isRunning) return { refused: true };
    return { ms, apply };
  }

  private failure(code: ErrorCode, o: RpcOutcome<unknown>, what: string): DbFailure {
    if (o.kind === 'refused') return fail(code, 'refused', `${what}: connect ECONNREFUSED ${this.label}`);
    return fail(code, 'timeout', `${what}: no answer from ${this.label} within the bound`);
  }

  private get now(): number {
    return this.world.kernel.now;
  }

  async status(): Promise<DbStatus> {
    const o = await this.call(this.db.connectTimeout + this.db.statementTimeout, () =>
      this.reach(3, () => this.world.databases.status(this.node, this.now)),
    );
    if (o.kind === 'ok') return o.value;
    const error = this.failure('DATABASE_UNAVAILABLE', o, 'status');
    return { engine: this.engine, reachable: false, detail: error.message, error };
  }

  async fence(opts?: FenceOptions): Promise<FenceResult> {
    const t0 = this.clock.monotonic();
    const dbs = this.world.databases;
    const bound = this.db.connectTimeout + 3 * this.db.statementTimeout;
    const o = await this.call(bound, () =>
      this.reach(draw.between(this.serverRandom, 20, 200), () => {
        dbs.advance(this.now);
        const sessions = this.node.sessions;
        this.node.readOnly = true;
        this.node.readOnlyPersistent = this.node.engine === 'postgres';
        this.node.sessions = 0;
        this.node.fencedAt = this.now;
        this.node.everFenced = true;
        dbs.log({
          at: this.now,
          kind: 'fence',
          node: this.node.id,
          by: this.observer,
          detail: `SQL fence (${sessions} sessions ended)`,
        });
        return { sessions, position: lsn(this.node.position) };
      }),
    );
    const sqlFenced = o.kind === 'ok';
    const sqlError = sqlFenced ? undefined : this.failure('FENCE_FAILED', o, 'SQL fence');
    let hardFence: FenceResult['hardFence'];
    if (this.db.hardFence && opts?.hard !== false) hardFence = await this.hardFence();
    const ok = (sqlFenced || hardFence?.ok === true) && (hardFence === undefined || hardFence.ok);
    if (!ok)
      dbs.log({
        at: this.now,
        kind: 'fence-failed',
        node: this.node.id,
        by: this.observer,
        detail: sqlError?.message ?? hardFence?.detail ?? 'fence failed',
      });
    const error = ok
      ? undefined
      : hardFence && !hardFence.ok
        ? fail(
            'FENCE_FAILED',
            'hard-fence',
            `${hardFence.detail}${sqlError ? `; SQL fence: ${sqlError.message}` : ''}`,
          )
        : (sqlError ?? fail('FENCE_FAILED', 'error', 'the SQL fence did not take effect'));
    return {
      ok,
      sqlFenced,
      sessionsTerminated: o.kind === 'ok' ? o.value.sessions : 0,
      ...(o.kind === 'ok' ? { position: o.value.position } : {}),
      ...(hardFence ? { hardFence } : {}),
      durationMs: Math.round(this.clock.monotonic() - t0),
      ...(error ? { error } : {}),
    };
  }

  /** The configured command, run by the director: it reaches the cloud API, not the database. */
  private hardFence(): Promise<NonNullable<FenceResult['hardFence']>> {
    const dbs = this.world.databases;
    const ms = draw.between(this.serverRandom, 1_000, 5_000);
    const timeout = this.db.hardFence?.timeout ?? 30_000;
    return new Promise((resolve) => {
      this.clock.setTimeout(() => {
        if (ms > timeout) {
          resolve({
            ran: true,
            ok: false,
            exitCode: null,
            detail: `hard fence timed out after ${timeout}ms`,
          });
          return;
        }
        if (!this.node.hardFenceWorks) {
          resolve({
            ran: true,
            ok: false,
            exitCode: 1,
            detail: 'hard fence command failed (control plane unreachable)',
          });
          return;
        }
        dbs.advance(this.now);
        this.node.hardFenced = true;
        this.node.fencedAt = this.now;
        this.node.everFenced = true;
        dbs.log({
          at: this.now,
          kind: 'hard-fence',
          node: this.node.id,
          by: this.observer,
          detail: 'server stopped by the hard fence',
        });
        dbs.reconcile(this.node, this.now, 'hard fence');
        resolve({ ran: true, ok: true, exitCode: 0, detail: 'hard fence command exited 0' });
      }, ms);
    });
  }

  async promote(opts: PromoteOptions): Promise<PromoteResult> {
    const t0 = this.clock.monotonic();
    const timeoutMs = opts.timeoutMs ?? 60_000;
    const dbs = this.world.databases;
    const node = this.node;
    type Outcome =
      | {
          ok: true;
          alreadyPrimary: boolean;
          lag?: { seconds: number | null; bytes: number | null };
          position: string;
        }
      | {
          ok: false;
          reason: 'stale-epoch' | 'unavailable' | 'beyond-rpo';
          message: string;
          alreadyPrimary: boolean;
          lag?: { seconds: number | null; bytes: number | null };
        };
    const o = await this.call<Outcome>(timeoutMs + this.db.connectTimeout, () => {
      if (!node.hostUp) return { hang: true };
      if (!node.isRunning) return { refused: true };
      dbs.advance(this.now);
      const wasReplica = node.role === 'replica';
      const lag = wasReplica ? dbs.reportedLag(node, this.now) : undefined;
      const alreadyPrimary = node.writable;
      const ms = wasReplica ? draw.between(this.serverRandom, 500, 3_000) : 20;
      return {
        ms,
        apply: (): Outcome => {
          dbs.advance(this.now);
          if (!node.isRunning)
            return {
              ok: false,
              reason: 'unavailable',
              message: 'the server went away during the promotion',
              alreadyPrimary,
            };
          // As the real promoters: the RPO bound on the lag read right before promoting.
          const beyond = lag ? beyondBound(lag, opts.maxLag) : undefined;
          if (node.role === 'replica' && beyond)
            return {
              ok: false,
              reason: 'beyond-rpo',
              message: beyond,
              alreadyPrimary,
              ...(lag ? { lag } : {}),
            };
          if (node.role === 'replica') {
            const lost = dbs.unreceivedBytes(node, this.now);
            node.position = node.received; // pg_promote replays everything received first
            node.role = 'primary';
            node.upstream = undefined;
            node.resetHistory();
            dbs.log({
              at: this.now,
              kind: 'promote',
              node: node.id,
              by: this.observer,
              epoch: opts.epoch,
              detail: `promoted at ${lsn(node.position)}`,
              ...(lag ? { reportedLag: lag } : {}),
              lostBytes: lost,
            });
          }
          // The fence of an earlier life is cleared before the heartbeat is written (as in the real promoter).
          node.readOnly = false;
          node.readOnlyPersistent = false;
          node.fencedAt = undefined;
          node.writableCause = 'promote';
          dbs.version++;
          if (node.epoch > opts.epoch)
            return {
              ok: false,
              reason: 'stale-epoch',
              message: `heartbeat holds epoch ${node.epoch}, newer than ${opts.epoch}`,
              alreadyPrimary,
            };
          node.epoch = opts.epoch;
          node.commit(64, this.now);
          return { ok: true, alreadyPrimary, ...(lag ? { lag } : {}), position: lsn(node.position) };
        },
      };
    });
    const durationMs = Math.round(this.clock.monotonic() - t0);
    if (o.kind !== 'ok')
      return {
        ok: false,
        alreadyPrimary: false,
        verified: false,
        durationMs,
        error: this.failure('PROMOTION_FAILED', o, 'promote'),
      };
    const v = o.value;
    if (!v.ok)
      return {
        ok: false,
        alreadyPrimary: v.alreadyPrimary,
        verified: false,
        durationMs,
        ...(v.lag ? { lagAtPromotion: v.lag } : {}),
        error: fail('PROMOTION_FAILED', v.reason, v.message),
      };
    return {
      ok: true,
      alreadyPrimary: v.alreadyPrimary,
      verified: true,
      ...(v.lag ? { lagAtPromotion: v.lag } : {}),
      position: v.position,
      durationMs,
    };
  }

  async catchUp(target: string, timeoutMs: number): Promise<CatchUpResult> {
    const t0 = this.clock.monotonic();
    const want = parseLsn(target);
    const waited = () => Math.round(this.clock.monotonic() - t0);
    if (want === undefined)
      return { ok: false, waitedMs: 0, error: fail('CATCHUP_FAILED', 'error', `not a position: ${target}`) };
    let position: string | undefined;
    for (;;) {
      const o = await this.call(this.db.connectTimeout + this.db.statementTimeout, () =>
        this.reach(2, () => {
          this.world.databases.advance(this.now);
          return { pos: this.node.position, replica: this.node.role === 'replica' };
        }),
      );
      if (o.kind !== 'ok')
        return { ok: false, waitedMs: waited(), error: this.failure('CATCHUP_FAILED', o, 'catch-up') };
      position = lsn(o.value.pos);
      if (o.value.pos >= want) return { ok: true, position, waitedMs: waited() };
      if (!o.value.replica)
        return {
          ok: false,
          position,
          waitedMs: waited(),
          error: fail(
            'CATCHUP_FAILED',
            'not-caught-up',
            `already a primary at ${position}, short of ${target}`,
          ),
        };
      if (waited() > timeoutMs)
        return {
          ok: false,
          position,
          waitedMs: waited(),
          error: fail(
            'CATCHUP_FAILED',
            'not-caught-up',
            `replayed ${position}, short of ${target} after ${timeoutMs}ms`,
          ),
        };
      await new Promise<void>((r) => this.clock.setTimeout(r, 200));
    }
  }

  async unfence(): Promise<UnfenceResult> {
    const t0 = this.clock.monotonic();
    const o = await this.call(this.db.connectTimeout + this.db.statementTimeout, () =>
      this.reach(20, () => {
        this.node.readOnly = false;
        this.node.readOnlyPersistent = false;
        this.node.fencedAt = undefined;
        this.node.writableCause = 'unfence';
        this.world.databases.log({
          at: this.now,
          kind: 'unfence',
          node: this.node.id,
          by: this.observer,
          detail: 'SQL fence reverted',
        });
        return true;
      }),
    );
    const durationMs = Math.round(this.clock.monotonic() - t0);
    return o.kind === 'ok'
      ? { ok: true, durationMs }
      : { ok: false, durationMs, error: this.failure('FENCE_FAILED', o, 'unfence') };
  }
}
