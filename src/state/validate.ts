import { canServe } from '../decide/evidence.js';
import { regionById } from '../topology/build.js';
import type { Topology } from '../topology/types.js';
import type { PersistedState } from './types.js';

export interface StateCheck {
  /** Contradictions the daemon must not act on ("engine.main: …"): start is refused. */
  errors: string[];
  /** Leftovers of an older configuration (a removed record or region), pruned from `state`. */
  warnings: string[];
  /** The state with those leftovers removed. */
  state: PersistedState;
}

/**
 * Checks loaded state against the configuration and against its own journal. A state file that
 * says `main: r3` (an edge) or `main: r2, epoch: 0` (a state switchyard never writes: every
 * promotion bumps the epoch) would make the daemon fence the live primary, so these are errors.
 * Weights, hold-downs and demotions of regions or records the configuration no longer has are
 * caches of a former layout: they are pruned with a warning.
 */
export function checkState(input: PersistedState, topology: Topology): StateCheck {
  const state = structuredClone(input);
  const { engine, overrides, journal } = state;
  const errors: string[] = [];
  const warnings: string[] = [];
  const region = (id: string) => regionById(topology, id);
  const canBeMain = (id: string) => {
    const r = region(id);
    return r !== undefined && r.role !== 'edge' && r.databases.length > 0;
  };
  const mainProblem = (id: string): string | undefined => {
    const r = region(id);
    if (!r) return `"${id}" is not a region of the configuration`;
    if (!canBeMain(id))
      return `"${id}" is ${r.role === 'edge' ? 'an edge region' : 'a region without databases'} and cannot be the main`;
    return undefined;
  };

  const mp = mainProblem(engine.main);
  if (mp) errors.push(`engine.main: ${mp}`);
  if (engine.epoch === 0 && engine.main !== topology.configuredMain)
    errors.push(
      `engine.epoch: 0 with main "${engine.main}", but the configuration's main is "${topology.configuredMain}": every promotion bumps the epoch, so switchyard never writes this`,
    );

  const p = engine.promotion;
  if (p) {
    const tp = mainProblem(p.to);
    if (tp) errors.push(`engine.promotion.to: ${tp}`);
    if (!region(p.from))
      errors.push(`engine.promotion.from: "${p.from}" is not a region of the configuration`);
    if (p.to === p.from) errors.push(`engine.promotion: promotes "${p.to}" in place of itself`);
    // The intent sets the epoch; a later leader may have begun a newer one since.
    if (p.epoch > engine.epoch)
      errors.push(
        `engine.promotion.epoch: ${p.epoch} is newer than engine.epoch ${engine.epoch} (a promotion's intent sets the epoch)`,
      );
  }

  journal.forEach((e, i) => {
    if (e.epoch > engine.epoch)
      errors.push(`journal[${i}].epoch: ${e.epoch} is newer than engine.epoch ${engine.epoch}`);
  });
  const lastDone = [...journal].reverse().find((e) => e.action === 'promote' && e.phase === 'done');
  if (lastDone && lastDone.epoch === engine.epoch && lastDone.target !== engine.main && !p)
    errors.push(
      `engine.main: "${engine.main}", but the journal records "${lastDone.target}" promoted at epoch ${lastDone.epoch}`,
    );

  overrides.drained.forEach((id, i) => {
    if (!region(id)) errors.push(`overrides.drained[${i}]: "${id}" is not a region of the configuration`);
  });
  for (const [name, to] of Object.entries(overrides.routes)) {
    const key = name.toLowerCase().replace(/\.$/, '');
    const rec = topology.records.find(
      (r) => r.key === name || r.name.toLowerCase().replace(/\.$/, '') === key,
    );
    if (!rec) errors.push(`overrides.routes["${name}"]: no such record in the configuration`);
    else if (!region(to))
      errors.push(`overrides.routes["${name}"]: "${to}" is not a region of the configuration`);
  }
  if (overrides.failover && !canBeMain(overrides.failover.to))
    errors.push(`overrides.failover.to: ${mainProblem(overrides.failover.to)}`);

  // Caches of a former layout: pruned, not refused.
  for (const [id, classes] of Object.entries(engine.out)) {
    const r = region(id);
    if (!r) {
      warnings.push(`engine.out.${id}: region "${id}" is no longer configured; dropped`);
      delete engine.out[id];
      continue;
    }
    const kept = classes.filter((c) => canServe(r, c));
    if (kept.length !== classes.length) engine.out[id] = kept;
    if (kept.length === 0) delete engine.out[id];
  }
  for (const [key, weights] of Object.entries(engine.weights)) {
    const rec = topology.records.find((r) => r.key === key);
    if (!rec) {
      warnings.push(`engine.weights["${key}"]: record "${key}" is no longer configured; dropped`);
      delete engine.weights[key];
      continue;
    }
    for (const id of Object.keys(weights))
      if (!rec.targets[id]) {
        warnings.push(`engine.weights["${key}"].${id}: "${key}" has no target in "${id}" any more; dropped`);
        delete weights[id];
      }
    if (Object.values(weights).every((w) => w === 0)) {
      warnings.push(`engine.weights["${key}"]: no non-zero weight left; dropped (it is decided afresh)`);
      delete engine.weights[key];
    }
  }
  for (const id of Object.keys(engine.demoted ?? {}))
    if (!region(id) || id === engine.main) {
      warnings.push(
        `engine.demoted.${id}: ${id === engine.main ? 'the main cannot be demoted' : 'no such region'}; dropped`,
      );
      delete engine.demoted?.[id];
    }
  return { errors, warnings, state };
}
