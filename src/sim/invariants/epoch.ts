import type { CheckContext, Invariant } from './types.js';

interface Action {
  at: number;
  by: string;
  what: string;
}

/** New actions since the last check: DNS writes and database actions, each with its actor. */
const NONE: Action[] = [];

function newActions(ctx: CheckContext, cursor: { dns: number; db: number }): Action[] {
  if (cursor.dns === ctx.world.dns.changes.length && cursor.db === ctx.world.databases.events.length)
    return NONE;
  const out: Action[] = [];
  const { changes } = ctx.world.dns;
  for (let i = cursor.dns; i < changes.length; i++) {
    const c = changes[i];
    if (c) out.push({ at: c.at, by: c.by, what: `DNS change ${c.id}` });
  }
  cursor.dns = changes.length;
  const { events } = ctx.world.databases;
  for (let i = cursor.db; i < events.length; i++) {
    const e = events[i];
    if (
      e?.by &&
      (e.kind === 'fence' || e.kind === 'hard-fence' || e.kind === 'promote' || e.kind === 'unfence')
    )
      out.push({ at: e.at, by: e.by, what: `${e.kind} of ${e.node}` });
  }
  cursor.db = events.length;
  return out;
}

/**
 * "at most one instance acts per epoch; the epoch never decreases". An action's fencing token is
 * the actor's (epoch, term) when the action lands; a token is used by one instance only, and no
 * action lands with a token older than one already used.
 */
export function singleActorPerEpoch(): Invariant {
  const cursor = { dns: 0, db: 0 };
  const owner = new Map<string, string>();
  let newest: [number, number] = [Number.NEGATIVE_INFINITY, 0];
  return {
    name: 'single-actor-per-epoch',
    description:
      'every action lands under one instance’s (epoch, term); tokens are never reused by another instance and never go back',
    round: 1,
    check(ctx) {
      for (const a of newActions(ctx, cursor)) {
        const inst = ctx.instances.find((i) => i.name === a.by);
        if (!inst) return `${a.what} was made by ${a.by}, which is not a director instance`;
        const token: [number, number] = [inst.epoch(), inst.term()];
        const key = `${token[0]}/${token[1]}`;
        const first = owner.get(key);
        if (first && first !== a.by)
          return `${a.what} by ${a.by} at epoch ${token[0]} term ${token[1]}, a token ${first} already acted under`;
        owner.set(key, a.by);
        if (token[0] < newest[0] || (token[0] === newest[0] && token[1] < newest[1]))
          return `${a.what} by ${a.by} at epoch ${token[0]} term ${token[1]}, after epoch ${newest[0]} term ${newest[1]} had acted`;
        newest = token;
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
