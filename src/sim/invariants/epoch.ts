import type { CheckContext, Invariant } from './types.js';

interface Action {
  at: number;
  by: string;
  what: string;
  /** The epoch the action carries itself (a DNS change's comment, a promotion's heartbeat). */
  epoch?: number;
}

/** New actions since the last check: DNS writes and database actions, each with its actor. */
const NONE: Action[] = [];

function newActions(
  ctx: CheckContext,
  cursor: { dns: number; db: number; leads: Map<string, number> },
): Action[] {
  let leadsMoved = false;
  for (const i of ctx.instances)
    if ((i.leads?.length ?? 0) !== (cursor.leads.get(i.name) ?? 0)) leadsMoved = true;
  if (
    !leadsMoved &&
    cursor.dns === ctx.world.dns.changes.length &&
    cursor.db === ctx.world.databases.events.length
  )
    return NONE;
  const out: Action[] = [];
  // A term begun (its new epoch saved) counts as the new epoch acting: from then on every older
  // epoch is over, whatever its leader still has in flight.
  for (const i of ctx.instances) {
    const leads = i.leads ?? [];
    for (let k = cursor.leads.get(i.name) ?? 0; k < leads.length; k++) {
      const l = leads[k];
      if (l) out.push({ at: l.at, by: i.name, what: `the term of epoch ${l.epoch}`, epoch: l.epoch });
    }
    cursor.leads.set(i.name, leads.length);
  }
  const { changes } = ctx.world.dns;
  for (let i = cursor.dns; i < changes.length; i++) {
    const c = changes[i];
    if (c)
      out.push({
        at: c.at,
        by: c.by,
        what: `DNS change ${c.id}`,
        ...(c.epoch !== undefined ? { epoch: c.epoch } : {}),
      });
  }
  cursor.dns = changes.length;
  const { events } = ctx.world.databases;
  for (let i = cursor.db; i < events.length; i++) {
    const e = events[i];
    if (
      e?.by &&
      (e.kind === 'fence' || e.kind === 'hard-fence' || e.kind === 'promote' || e.kind === 'unfence')
    )
      out.push({
        at: e.at,
        by: e.by,
        what: `${e.kind} of ${e.node}`,
        ...(e.epoch !== undefined ? { epoch: e.epoch } : {}),
      });
  }
  cursor.db = events.length;
  return out;
}

/**
 * "at most one instance acts per epoch; the epoch never decreases", across instances. Every
 * action that lands — a DNS write, a fence, a hard fence, a promotion — is tagged with the
 * instance that made it and its epoch (the one the action carries, else the epoch the instance
 * holds when it lands). An epoch belongs to the first instance that acts in it; an action in an
 * epoch older than one already acted in is a deposed actor still acting (its lease lost).
 */
export function singleActorPerEpoch(): Invariant {
  const cursor = { dns: 0, db: 0, leads: new Map<string, number>() };
  const owner = new Map<number, string>();
  let newest = Number.NEGATIVE_INFINITY;
  let newestBy = '';
  return {
    name: 'single-actor-per-epoch',
    description:
      'every DNS write, fence and promotion is tagged with its instance and epoch: one instance per epoch, and no action in an epoch older than one already acted in',
    round: 1,
    check(ctx) {
      for (const a of newActions(ctx, cursor)) {
        const inst = ctx.instances.find((i) => i.name === a.by);
        if (!inst) return `${a.what} was made by ${a.by}, which is not a director instance`;
        const epoch = a.epoch ?? inst.epoch();
        const first = owner.get(epoch);
        if (first && first !== a.by)
          return `${a.what} by ${a.by} in epoch ${epoch} (term ${inst.term()}), an epoch ${first} already acted in`;
        owner.set(epoch, a.by);
        if (epoch < newest)
          return `${a.what} by ${a.by} in epoch ${epoch} (term ${inst.term()}), after ${newestBy} had acted in epoch ${newest}: a deposed actor still acting`;
        if (epoch > newest) {
          newest = epoch;
          newestBy = a.by;
        }
      }
      return undefined;
    },
  };
}

/** The epoch an instance holds, and the epoch each disk stores, never decrease. */
export function epochMonotonic(): Invariant {
  const last = new Map<string, number>();
  const saves = new Map<string, { cursor: number; max: number }>();
  return {
    name: 'epoch-monotonic',
    description: 'no instance’s epoch and no saved state’s epoch ever decreases (across restarts too)',
    round: 1,
    check(ctx) {
      for (const inst of ctx.instances) {
        if (!inst.alive()) continue;
        const e = inst.epoch();
        const prev = last.get(inst.name);
        if (prev !== undefined && e < prev) return `${inst.name}'s epoch went from ${prev} back to ${e}`;
        last.set(inst.name, e);
      }
      for (const [name, disk] of ctx.world.disks) {
        const s = saves.get(name) ?? { cursor: 0, max: Number.NEGATIVE_INFINITY };
        for (let i = s.cursor; i < disk.saves.length; i++) {
          const rec = disk.saves[i];
          if (!rec?.ok) continue;
          if (rec.epoch < s.max) return `${name} saved epoch ${rec.epoch} after having saved ${s.max}`;
          s.max = rec.epoch;
        }
        s.cursor = disk.saves.length;
        saves.set(name, s);
      }
      return undefined;
    },
  };
}

/** The StateStore contract: saves never overlap. */
export function savesSerialised(): Invariant {
  return {
    name: 'state-saves-serialised',
    description: 'an instance never starts a save while its previous save is still in flight',
    round: 1,
    check(ctx) {
      for (const [name, disk] of ctx.world.disks)
        if (disk.overlaps > 0) return `${name} started ${disk.overlaps} save(s) while another was in flight`;
      return undefined;
    },
  };
}
