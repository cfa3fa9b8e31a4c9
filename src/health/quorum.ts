import type { ComponentHealth, DatabaseHealth, HealthView, RegionHealth, Status } from '../decide/types.js';
import type { RegionId } from '../topology/types.js';

/**
 * Several observers, one view: combines the observers' views (each already in this process's
 * monotonic frame, see src/coord/observations.ts) into the engine's HealthView. Pure: no I/O, no
 * clock — `now` comes in, and only differences of monotonic instants are used.
 *
 * - Only live observers count: a view received more than `observerStaleAfterMs` ago is ignored
 *   (an observer whose lease expired has no view at all). Within a view, only fresh components
 *   vote: status known and last checked within `staleAfterMs`.
 * - An observer that sees more than `panicThreshold` of the regions down at once is discounted
 *   (suspect its own network) as long as another live observer does not; when every live
 *   observer sees that much down, nobody is discounted and the engine's own panic guard holds
 *   everything.
 * - The quorum is a majority of live observers (discounted ones included, so that discounting
 *   never lowers the bar), or the configured number. A component is `down` when at least a
 *   quorum of counted observers see it down, `up` when a quorum see it up, `unknown` otherwise:
 *   with two or more observers no single one can move a component on its own.
 * - `since` is when the quorum began to agree (the q-th earliest `since` among those agreeing);
 *   `checkedAt` the q-th most recent check among them (at least q observers checked since then).
 * - Databases, conservatively: `writable` is true if any live observer with a fresh view saw the
 *   database writable (a split-brain is fenced on first sight — the engine fences a database
 *   whose combined status is up); the lag is the worst among the observers that see it up (null,
 *   unknown, wins); the role is the one a quorum reports.
 * - With exactly one live observer the result is that observer's view, unchanged: one instance
 *   behaves exactly as before there were several.
 */

export interface ObserverIdentity {
  id: string;
  region: RegionId;
}

/** One observer's view in this process's monotonic frame (src/coord/observations.ts makes them). */
export interface ObserverView {
  observer: ObserverIdentity;
  /** Local monotonic instant the view was received. */
  receivedAt: number;
  seq: number;
  view: HealthView;
}

export interface QuorumOptions {
  /** Local monotonic time of the decision. */
  now: number;
  /** A component checked longer ago than this does not vote (policy.staleAfter). */
  staleAfterMs: number;
  /** An observer whose view was received longer ago than this does not count. */
  observerStaleAfterMs: number;
  /** Share of regions down at once beyond which an observer suspects itself (policy.panicThreshold). */
  panicThreshold: number;
  /** Votes needed; default a majority of live observers. */
  quorum?: number;
  /** Every configured region (the panic share's denominator); default: every region in any view. */
  regions?: readonly RegionId[];
}

export interface ObserverNote {
  id: string;
  region: RegionId;
  reason: string;
}

export interface ComponentVotes {
  /** `r1.gateway`, `r1.keyManager`, `r1.database.apim`. */
  key: string;
  status: Status;
  up: string[];
  down: string[];
  /** Counted observers whose view of it is unknown, stale or missing. */
  abstained: string[];
}

export interface QuorumResult {
  view: HealthView;
  quorum: number;
  /** Observers with a fresh view. */
  live: string[];
  /** Live observers whose votes count (live minus discounted). */
  counted: string[];
  discounted: ObserverNote[];
  /** Observers whose view is too old to count at all. */
  stale: ObserverNote[];
  votes: ComponentVotes[];
}

type Slot =
  | { region: RegionId; kind: 'gateway' | 'keyManager' }
  | { region: RegionId; kind: 'database'; db: string };

function slotKey(s: Slot): string {
  return s.kind === 'database' ? `${s.region}.database.${s.db}` : `${s.region}.${s.kind}`;
}

function read(view: HealthView, s: Slot): ComponentHealth | DatabaseHealth | undefined {
  const r = view[s.region];
  if (!r) return undefined;
  return s.kind === 'database' ? r.databases?.[s.db] : r[s.kind];
}

function isFresh(h: ComponentHealth | undefined, now: number, staleAfterMs: number): h is ComponentHealth {
  if (!h || h.status === 'unknown') return false;
  return h.checkedAt === undefined || now - h.checkedAt <= staleAfterMs;
}

function slotsOf(view: HealthView): Slot[] {
  const out: Slot[] = [];
  for (const [region, r] of Object.entries(view)) {
    if (r.gateway) out.push({ region, kind: 'gateway' });
    if (r.keyManager) out.push({ region, kind: 'keyManager' });
    for (const db of Object.keys(r.databases ?? {})) out.push({ region, kind: 'database', db });
  }
  return out;
}

/** Regions this view sees down right now (any fresh component down), as the engine's panic guard counts them. */
export function regionsSeenDown(view: HealthView, now: number, staleAfterMs: number): RegionId[] {
  const down: RegionId[] = [];
  for (const [region, r] of Object.entries(view)) {
    const parts: (ComponentHealth | undefined)[] = [
      r.gateway,
      r.keyManager,
      ...Object.values(r.databases ?? {}),
    ];
    if (parts.some((h) => isFresh(h, now, staleAfterMs) && h.status === 'down')) down.push(region);
  }
  return down.sort();
}

export function combineViews(observers: readonly ObserverView[], opts: QuorumOptions): QuorumResult {
  const { now } = opts;
  // One view per observer id: the most recently received.
  const latest = new Map<string, ObserverView>();
  for (const o of observers) {
    const prev = latest.get(o.observer.id);
    if (!prev || o.receivedAt > prev.receivedAt) latest.set(o.observer.id, o);
  }
  const all = [...latest.values()].sort((a, b) => (a.observer.id < b.observer.id ? -1 : 1));
  const stale: ObserverNote[] = [];
  const live: ObserverView[] = [];
  for (const o of all) {
    const age = now - o.receivedAt;
    if (age <= opts.observerStaleAfterMs) live.push(o);
    else
      stale.push({
        id: o.observer.id,
        region: o.observer.region,
        reason: `its view was received ${Math.round(age)} ms ago (limit ${opts.observerStaleAfterMs} ms)`,
      });
  }
  const liveIds = live.map((o) => o.observer.id);
  if (live.length === 0)
    return { view: {}, quorum: opts.quorum ?? 1, live: [], counted: [], discounted: [], stale, votes: [] };
  const only = live[0] as ObserverView;
  if (live.length === 1) {
    const quorum = opts.quorum ?? 1;
    // A configured quorum above one cannot be met by one observer: nothing is known then.
    const view = quorum <= 1 ? structuredClone(only.view) : {};
    return {
      view,
      quorum,
      live: liveIds,
      counted: liveIds,
      discounted: [],
      stale,
      votes: quorum <= 1 ? votesOfSingle(only) : [],
    };
  }

  // Panic: discount observers that see most regions down, unless every live observer does.
  const regionUniverse = opts.regions?.length
    ? [...opts.regions]
    : [...new Set(all.flatMap((o) => Object.keys(o.view)))];
  const panicking = new Map<string, RegionId[]>();
  for (const o of live) {
    const down = regionsSeenDown(o.view, now, opts.staleAfterMs).filter((r) => regionUniverse.includes(r));
    if (regionUniverse.length > 0 && down.length / regionUniverse.length > opts.panicThreshold)
      panicking.set(o.observer.id, down);
  }
  const discounted: ObserverNote[] = [];
  let counted = live;
  if (panicking.size > 0 && panicking.size < live.length) {
    counted = live.filter((o) => !panicking.has(o.observer.id));
    for (const o of live) {
      const down = panicking.get(o.observer.id);
      if (down)
        discounted.push({
          id: o.observer.id,
          region: o.observer.region,
          reason: `sees ${down.length} of ${regionUniverse.length} regions down at once (${down.join(', ')}), more than ${Math.round(
            opts.panicThreshold * 100,
          )}% while other observers do not: suspecting its own network`,
        });
    }
  }
  const quorum = Math.max(1, opts.quorum ?? Math.floor(live.length / 2) + 1);

  const slots = new Map<string, Slot>();
  for (const o of all) for (const s of slotsOf(o.view)) slots.set(slotKey(s), s);
  const view: HealthView = {};
  const votes: ComponentVotes[] = [];
  for (const key of [...slots.keys()].sort()) {
    const slot = slots.get(key) as Slot;
    const fresh = counted
      .map((o) => ({ id: o.observer.id, h: read(o.view, slot) }))
      .filter((v): v is { id: string; h: ComponentHealth } => isFresh(v.h, now, opts.staleAfterMs));
    const up = fresh.filter((v) => v.h.status === 'up');
    const down = fresh.filter((v) => v.h.status === 'down');
    const status: Status =
      down.length >= quorum && up.length < quorum
        ? 'down'
        : up.length >= quorum && down.length < quorum
          ? 'up'
          : 'unknown';
    const agreeing = status === 'up' ? up : status === 'down' ? down : [];
    const votedIds = new Set(fresh.map((v) => v.id));
    votes.push({
      key,
      status,
      up: up.map((v) => v.id),
      down: down.map((v) => v.id),
      abstained: counted.map((o) => o.observer.id).filter((id) => !votedIds.has(id)),
    });
    const base = combined(
      status,
      agreeing,
      quorum,
      counted.length,
      up.length,
      down.length,
      now,
      slot,
      counted,
    );
    const region: RegionHealth = view[slot.region] ?? {};
    view[slot.region] = region;
    if (slot.kind === 'database') {
      region.databases ??= {};
      region.databases[slot.db] = {
        ...base,
        ...databaseFields(slot, live, counted, up, quorum, now, opts.staleAfterMs),
      };
    } else region[slot.kind] = base;
  }
  return {
    view,
    quorum,
    live: liveIds,
    counted: counted.map((o) => o.observer.id),
    discounted,
    stale,
    votes,
  };
}

function combined(
  status: Status,
  agreeing: { id: string; h: ComponentHealth }[],
  quorum: number,
  countedN: number,
  upN: number,
  downN: number,
  now: number,
  slot: Slot,
  counted: readonly ObserverView[],
): ComponentHealth {
  const detail = `${upN} up, ${downN} down of ${countedN} counted observer(s), quorum ${quorum}${
    agreeing.length > 0 ? `: ${status} per ${agreeing.map((v) => v.id).join(', ')}` : ''
  }`;
  if (status === 'unknown') {
    // When did it stop being known? The latest change among the observers' own views.
    const sinces = counted.map((o) => read(o.view, slot)?.since).filter((s): s is number => s !== undefined);
    return { status, since: sinces.length > 0 ? Math.max(...sinces) : now, detail };
  }
  const sinces = agreeing.map((v) => v.h.since).sort((a, b) => a - b);
  const checks = agreeing.map((v) => v.h.checkedAt ?? now).sort((a, b) => b - a);
  const since = sinces[quorum - 1] as number;
  const allUnchecked = agreeing.every((v) => v.h.checkedAt === undefined);
  return {
    status,
    since,
    ...(allUnchecked ? {} : { checkedAt: checks[quorum - 1] as number }),
    detail,
  };
}

/**
 * A database's sample (role, writability, lag, streaming) from the observers' own samples, each
 * taken by one successful probe (see DatabaseHealth.sampledAt). Conservative for safety:
 * - writable if any live observer's fresh sample says so (a split-brain is fenced on first sight,
 *   even by one observer, even a discounted one: a database that answered writable is a fact);
 * - the role and "streaming" only as a quorum of counted observers reports them (a demotion ends,
 *   and a replica is promotable, only on agreed evidence);
 * - the worst lag among the observers that see it up;
 * - sampledAt: the newest of the fresh samples used.
 */
function databaseFields(
  slot: Slot,
  live: readonly ObserverView[],
  counted: readonly ObserverView[],
  up: { id: string; h: ComponentHealth }[],
  quorum: number,
  now: number,
  staleAfterMs: number,
): Pick<DatabaseHealth, 'role' | 'writable' | 'lagSeconds' | 'lagBytes' | 'streaming' | 'sampledAt'> {
  const sampleOf = (o: ObserverView) => {
    const h = read(o.view, slot) as DatabaseHealth | undefined;
    return h?.sampledAt !== undefined && now - h.sampledAt <= staleAfterMs ? h : undefined;
  };
  const sightings = live.map(sampleOf).filter((h): h is DatabaseHealth => h !== undefined);
  const out: Pick<
    DatabaseHealth,
    'role' | 'writable' | 'lagSeconds' | 'lagBytes' | 'streaming' | 'sampledAt'
  > = {};
  if (sightings.length === 0) return out;
  out.sampledAt = Math.max(...sightings.map((h) => h.sampledAt as number));
  if (sightings.some((h) => h.writable === true)) out.writable = true;
  else if (sightings.some((h) => h.writable === false)) out.writable = false;
  const upIds = new Set(up.map((v) => v.id));
  const upViews = live.filter((o) => upIds.has(o.observer.id) || isUpDiscounted(o, counted, sampleOf));
  const lagS = upViews.map((o) => sampleOf(o)?.lagSeconds).filter((l) => l !== undefined);
  const lagB = upViews.map((o) => sampleOf(o)?.lagBytes).filter((l) => l !== undefined);
  if (lagS.length > 0) out.lagSeconds = lagS.includes(null) ? null : Math.max(...(lagS as number[]));
  if (lagB.length > 0) out.lagBytes = lagB.includes(null) ? null : Math.max(...(lagB as number[]));
  const agreed = <T extends string>(values: (T | undefined)[]): T | undefined => {
    const n = new Map<T, number>();
    for (const v of values) if (v !== undefined) n.set(v, (n.get(v) ?? 0) + 1);
    const winners = [...n.entries()].filter(([, c]) => c >= quorum);
    return winners.length === 1 ? (winners[0] as [T, number])[0] : undefined;
  };
  const role = agreed(counted.map((o) => sampleOf(o)?.role));
  if (role) out.role = role;
  const streaming = counted.map((o) => sampleOf(o)?.streaming);
  if (streaming.includes(false)) out.streaming = false;
  else if (agreed(streaming.map((v) => (v === true ? 'yes' : undefined))) === 'yes') out.streaming = true;
  return out;
}

/** A discounted observer that sees the database up still reports a lag worth counting. */
function isUpDiscounted(
  o: ObserverView,
  counted: readonly ObserverView[],
  sampleOf: (o: ObserverView) => DatabaseHealth | undefined,
): boolean {
  return !counted.includes(o) && sampleOf(o)?.status === 'up';
}

function votesOfSingle(o: ObserverView): ComponentVotes[] {
  return slotsOf(o.view)
    .map((s) => {
      const h = read(o.view, s);
      const status = h?.status ?? 'unknown';
      return {
        key: slotKey(s),
        status,
        up: status === 'up' ? [o.observer.id] : [],
        down: status === 'down' ? [o.observer.id] : [],
        abstained: status === 'unknown' ? [o.observer.id] : [],
      };
    })
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}
