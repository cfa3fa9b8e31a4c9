import { fallbackOrder, regionById } from '../topology/build.js';
import type { Policy, Region, RegionId, Topology } from '../topology/types.js';
import { formatBytes, formatDuration } from '../util/duration.js';
import { databaseEvidence, freshSample } from './evidence.js';
import type { Action, Alert, DecideInput, Demotion } from './types.js';

/** The outcome of the database half of a decision: who is main after it, and what to do. */
export interface DatabaseDecision {
  main: RegionId;
  epoch: number;
  actions: Action[];
  /**
   * Non-main regions kept away from auth and management (persisted in the next state): old mains,
   * regions found writable outside the main (fenced), primaries that do not replicate.
   */
  demoted: Record<RegionId, Demotion>;
  reasons: string[];
  alerts: Alert[];
}

type PromoteAction = Extract<Action, { type: 'promote' }>;

interface TargetCheck {
  region: Region;
  /** Why the target cannot be promoted at all (databases down, unknown, not replicas). */
  blocker?: string;
  /** Why the RPO bound is not met (lag over the bound or unknown); a forced failover overrides it. */
  lagProblem?: string;
  /**
   * The target is demoted (found writable outside the main, or a primary that does not
   * replicate): its data may have diverged. Never promoted automatically; a forced failover may.
   */
  demoted?: string;
  lagSeconds: number | null;
  lagBytes: number | null;
}

/** Is `region` a safe promotion target for the current main's databases? */
function checkTarget(
  input: DecideInput,
  region: Region,
  mainDbs: string[],
  demoted: Record<RegionId, Demotion>,
): TargetCheck {
  const check = checkReplicas(input, region, mainDbs);
  const d = demoted[region.id];
  if (check.blocker || !d) return check;
  return {
    ...check,
    demoted: `${region.id} is demoted (${d.reason}: ${d.detail ?? 'its databases are not clean replicas of the main'}); its data may have diverged from the main's`,
  };
}

function checkReplicas(input: DecideInput, region: Region, mainDbs: string[]): TargetCheck {
  const { health, topology, now } = input;
  const policy = topology.policy;
  const missing = mainDbs.filter((k) => !region.databases.includes(k));
  const base = { region, lagSeconds: null, lagBytes: null };
  if (missing.length > 0) return { ...base, blocker: `${region.id} has no replica of ${missing.join(', ')}` };
  const dbs = databaseEvidence(health, region, policy, now).filter((d) => mainDbs.includes(d.key));
  const notUp = dbs.filter((d) => d.status !== 'up');
  if (notUp.length > 0)
    return { ...base, blocker: notUp.map((d) => `${region.id} database ${d.key} is ${d.status}`).join('; ') };
  const notReplica = dbs.filter((d) => d.db?.role !== 'replica');
  if (notReplica.length > 0)
    return {
      ...base,
      blocker: notReplica
        .map(
          (d) =>
            `${region.id} database ${d.key} is ${d.db?.role ? `a ${d.db.role}` : 'of unknown role'}, not a replica`,
        )
        .join('; '),
    };
  let lagSeconds: number | null = 0;
  let lagBytes: number | null = 0;
  const problems: string[] = [];
  for (const d of dbs) {
    const s = d.db?.lagSeconds;
    const b = d.db?.lagBytes;
    lagSeconds = s === undefined || s === null || lagSeconds === null ? null : Math.max(lagSeconds, s);
    lagBytes = b === undefined || b === null || lagBytes === null ? null : Math.max(lagBytes, b);
    problems.push(...lagProblems(d.key, region.id, s, b, policy));
  }
  return { region, lagSeconds, lagBytes, ...(problems.length ? { lagProblem: problems.join('; ') } : {}) };
}

function lagProblems(
  key: string,
  region: RegionId,
  s: number | null | undefined,
  b: number | null | undefined,
  policy: Policy,
): string[] {
  const out: string[] = [];
  const { maxLagSeconds, maxLagBytes } = policy.promotion;
  if (s === undefined || s === null) out.push(`${region} ${key} lag in seconds is unknown`);
  else if (s > maxLagSeconds)
    out.push(`${region} ${key} is ${+s.toFixed(1)}s behind (bound ${maxLagSeconds}s)`);
  if (b === undefined || b === null) out.push(`${region} ${key} lag in bytes is unknown`);
  else if (b > maxLagBytes)
    out.push(`${region} ${key} is ${formatBytes(b)} behind (bound ${formatBytes(maxLagBytes)})`);
  return out;
}

/** Promotion candidates for the current main, in the main's fallback order, then any other core region. */
function candidates(topology: Topology, main: Region): Region[] {
  const ordered = fallbackOrder(main.fallback);
  const rest = topology.regions.filter((r) => !ordered.includes(r.id)).map((r) => r.id);
  return [...ordered, ...rest]
    .map((id) => regionById(topology, id))
    .filter(
      (r): r is Region => r !== undefined && r.id !== main.id && r.role !== 'edge' && r.databases.length > 0,
    );
}

function promote(
  check: TargetCheck,
  from: RegionId,
  epoch: number,
  force: boolean,
  reason: string,
  mainDbs: string[],
): PromoteAction {
  return {
    type: 'promote',
    region: check.region.id,
    from,
    epoch,
    databases: mainDbs,
    force,
    lagSeconds: check.lagSeconds,
    lagBytes: check.lagBytes,
    resume: false,
    reason,
  };
}

/**
 * Promotion, fencing and split-brain. Promotion needs stronger evidence than moving traffic:
 * every database of the main unreachable for `promoteAfter`, and a replica that is up and within
 * the RPO bound — unless an operator forces a failover, which still needs a reachable replica.
 */
export function decideDatabases(input: DecideInput, opts: { panic: boolean }): DatabaseDecision {
  const { topology, health, state, overrides, now } = input;
  const policy = topology.policy;
  const reasons: string[] = [];
  const alerts: Alert[] = [];
  const actions: Action[] = [];
  let main = state.main;
  let epoch = state.epoch;
  const mainRegion = regionById(topology, state.main);
  const pending = state.promotion;

  const demoted = demotions(input, actions, reasons, alerts);
  lastingAlerts(input, demoted, alerts);

  const mainDbs = mainRegion?.databases ?? [];
  if (!mainRegion || mainDbs.length === 0) return { main, epoch, actions, demoted, reasons, alerts };

  // A promotion whose intent was recorded but whose outcome was not: finish it (promoting twice is harmless).
  if (pending) {
    const reason = `resuming the promotion of ${pending.to} (epoch ${pending.epoch}) recorded at ${new Date(pending.startedAt).toISOString()} and not completed`;
    actions.push({
      type: 'promote',
      region: pending.to,
      from: pending.from,
      // The epoch of whoever resumes it: a leader that took over since began a newer one.
      epoch: Math.max(pending.epoch, state.epoch),
      databases: mainDbs,
      // An operator who forces a failover to the region being promoted accepts the loss for the
      // pending promotion too (the promoters refuse one beyond the RPO bound unless forced).
      force: pending.force || (overrides.failover?.to === pending.to && overrides.failover.force),
      lagSeconds: null,
      lagBytes: null,
      resume: true,
      reason,
    });
    reasons.push(reason);
    alerts.push({ kind: 'promotion-pending', subject: pending.to, message: reason });
    return {
      main: pending.to,
      epoch: Math.max(pending.epoch, state.epoch),
      actions,
      demoted,
      reasons,
      alerts,
    };
  }

  const requested = overrides.failover;
  if (requested) {
    const target = regionById(topology, requested.to);
    if (requested.to === state.main) {
      reasons.push(`failover to ${requested.to} requested, but ${requested.to} is already the main`);
    } else if (!target || target.role === 'edge' || target.databases.length === 0) {
      reasons.push(`failover to ${requested.to} requested, but it is not a region with databases to promote`);
    } else {
      const check = checkTarget(input, target, mainDbs, demoted);
      if (check.blocker) {
        const msg = `operator failover to ${target.id} cannot proceed: ${check.blocker}`;
        reasons.push(msg);
        alerts.push({ kind: 'promotion-blocked', subject: target.id, message: msg });
      } else if (check.demoted && !requested.force) {
        const msg = `operator failover to ${target.id} refused: ${check.demoted}; rebuild it, or use --force to promote it as it is`;
        reasons.push(msg);
        alerts.push({ kind: 'promotion-blocked', subject: target.id, message: msg });
      } else if (check.lagProblem && !requested.force) {
        const msg = `operator failover to ${target.id} refused by the RPO guard: ${check.lagProblem}; use --force to accept the loss`;
        reasons.push(msg);
        alerts.push({ kind: 'promotion-blocked', subject: target.id, message: msg });
      } else {
        epoch = state.epoch + 1;
        main = target.id;
        // Promoted as it is: no longer fenced or demoted in this plan (it becomes the main).
        if (check.demoted) undemote(target.id, actions, demoted);
        const risk = [
          check.demoted ? ` (forced: ${check.demoted})` : '',
          check.lagProblem ? ` (forced: ${check.lagProblem}; that much data may be lost)` : '',
        ].join('');
        const reason = `operator failover: promoting ${target.id} to main in place of ${state.main}${risk}`;
        actions.push(promote(check, state.main, epoch, requested.force, reason, mainDbs));
        reasons.push(reason);
      }
    }
    return { main, epoch, actions, demoted, reasons, alerts };
  }

  const dbs = databaseEvidence(health, mainRegion, policy, now);
  const down = dbs.filter((d) => d.status === 'down');
  if (down.length === 0) return { main, epoch, actions, demoted, reasons, alerts };
  if (down.length < dbs.length) {
    const up = dbs.filter((d) => d.status !== 'down').map((d) => `${d.key} ${d.status}`);
    reasons.push(
      `${mainRegion.id}: database ${down.map((d) => d.key).join(', ')} down but ${up.join(', ')}; a partial loss of the main is not promoted automatically (an operator can: switchyard failover)`,
    );
    return { main, epoch, actions, demoted, reasons, alerts };
  }
  const downFor = Math.min(...down.map((d) => d.forMs));
  const after = policy.promotion.promoteAfterMs;
  if (downFor < after) {
    reasons.push(
      `${mainRegion.id}: databases unreachable for ${formatDuration(downFor)}; promotion considered after ${formatDuration(after)}`,
    );
    return { main, epoch, actions, demoted, reasons, alerts };
  }

  const checks = candidates(topology, mainRegion).map((r) => checkTarget(input, r, mainDbs, demoted));
  const eligible = checks.find((c) => !c.blocker && !c.lagProblem && !c.demoted);
  const lost = `${mainRegion.id}: databases unreachable for ${formatDuration(downFor)} (promoteAfter ${formatDuration(after)})`;
  if (!eligible) {
    const why = checks.length
      ? checks.map((c) => c.blocker ?? c.demoted ?? `RPO guard: ${c.lagProblem}`).join('; ')
      : 'no failover region has replicas';
    const msg = `${lost}; no promotion: ${why}`;
    reasons.push(msg);
    alerts.push({ kind: 'promotion-blocked', subject: mainRegion.id, message: msg });
    alerts.push({ kind: 'main-unavailable', subject: mainRegion.id, message: lost });
    return { main, epoch, actions, demoted, reasons, alerts };
  }
  if (opts.panic) {
    reasons.push(`${lost}; the panic guard holds the promotion of ${eligible.region.id}`);
    return { main, epoch, actions, demoted, reasons, alerts };
  }
  const witnesses = input.observers !== undefined && input.observers.regions < 3;
  if (policy.promotion.mode === 'automatic' && witnesses) {
    const msg = `${lost}; automatic promotion needs observers in at least three regions and ${input.observers?.regions} observe now (two sites cannot tell an outage from a partition): promotion of ${eligible.region.id} awaits operator approval: switchyard failover --to ${eligible.region.id}`;
    reasons.push(msg);
    alerts.push({ kind: 'needs-witnesses', subject: eligible.region.id, message: msg });
    alerts.push({ kind: 'awaiting-approval', subject: eligible.region.id, message: msg });
    alerts.push({ kind: 'main-unavailable', subject: mainRegion.id, message: lost });
    return { main, epoch, actions, demoted, reasons, alerts };
  }
  if (policy.promotion.mode === 'manual') {
    const msg = `${lost}; promotion of ${eligible.region.id} awaits operator approval: switchyard failover --to ${eligible.region.id}`;
    reasons.push(msg);
    alerts.push({ kind: 'awaiting-approval', subject: eligible.region.id, message: msg });
    alerts.push({ kind: 'main-unavailable', subject: mainRegion.id, message: lost });
    return { main, epoch, actions, demoted, reasons, alerts };
  }
  epoch = state.epoch + 1;
  main = eligible.region.id;
  const lag =
    eligible.lagSeconds !== null && eligible.lagBytes !== null
      ? `, replicas ${+eligible.lagSeconds.toFixed(1)}s / ${formatBytes(eligible.lagBytes)} behind`
      : '';
  const reason = `${lost}; promoting ${eligible.region.id} (epoch ${epoch}${lag}); management follows once it is writable`;
  actions.push(promote(eligible, state.main, epoch, false, reason, mainDbs));
  reasons.push(reason);
  return { main, epoch, actions, demoted, reasons, alerts };
}

/** A demoted region an operator forces to be the main: its fence and its demotion are dropped. */
function undemote(region: RegionId, actions: Action[], demoted: Record<RegionId, Demotion>): void {
  delete demoted[region];
  for (let i = actions.length - 1; i >= 0; i--) {
    const a = actions[i];
    if (a?.type === 'fence' && a.region === region) actions.splice(i, 1);
  }
}

/**
 * The demotions of the next state. A non-main region (the target of a pending promotion excepted:
 * it is becoming the main) is demoted when a fresh probe sees one of its databases writable
 * (split-brain: fenced at once, on the first probe that sees it) or a primary that does not
 * replicate (detached); an old main stays demoted as recorded. A demotion is lifted only on
 * positive evidence — every database of the region seen up as a streaming replica — and unknown
 * or stale evidence keeps it as it is.
 */
function demotions(
  input: DecideInput,
  actions: Action[],
  reasons: string[],
  alerts: Alert[],
): Record<RegionId, Demotion> {
  const { topology, health, state, now, wall } = input;
  const policy = topology.policy;
  const next: Record<RegionId, Demotion> = {};
  const pendingTo = state.promotion?.to;
  for (const region of topology.regions) {
    const prev = state.demoted?.[region.id];
    if (region.id === state.main || region.id === pendingTo || region.databases.length === 0) continue;
    const samples = region.databases.map((key) => ({
      key,
      s: freshSample(health[region.id]?.databases?.[key], policy, now),
    }));
    const writable = samples.filter((x) => x.s?.writable === true).map((x) => x.key);
    const primaries = samples.filter((x) => x.s?.role === 'primary').map((x) => x.key);
    const rebuilt =
      samples.every((x) => x.s?.role === 'replica' && x.s.writable !== true && x.s.streaming !== false) &&
      databaseEvidence(health, region, policy, now).every((d) => d.status === 'up');
    if (writable.length > 0) {
      const reason = `${region.id}: database ${writable.join(', ')} reports itself writable but ${state.main} is the main; fencing it (split-brain) and keeping auth and management away`;
      next[region.id] = {
        reason: prev?.reason === 'old-main' ? 'old-main' : 'split-brain',
        since: prev?.since ?? wall,
        epoch: prev?.epoch ?? state.epoch,
        fenced: false,
        detail: reason,
      };
      actions.push({ type: 'fence', region: region.id, databases: writable, epoch: state.epoch, reason });
      reasons.push(reason);
      alerts.push({ kind: 'split-brain', subject: region.id, message: reason });
    } else if (prev && rebuilt) {
      reasons.push(
        `${region.id}: every database replicates from ${state.main} again (rebuilt); it may serve auth again`,
      );
    } else if (prev) {
      next[region.id] = prev;
      // An old main whose fence never completed (it was unreachable) is fenced once it answers.
      const reachable = samples.filter((x) => x.s !== undefined).map((x) => x.key);
      if (!prev.fenced && reachable.length > 0) {
        const reason = `${region.id}: ${prev.reason === 'old-main' ? 'old main' : 'demoted region'} answers again and its fence never completed; fencing ${reachable.join(', ')}`;
        actions.push({ type: 'fence', region: region.id, databases: reachable, epoch: state.epoch, reason });
        reasons.push(reason);
      } else if (primaries.length > 0)
        reasons.push(
          `${region.id}: database ${primaries.join(', ')} is read-only but not replicating from ${state.main} (${prev.reason === 'old-main' ? 'the old main, not yet rebuilt' : 'not yet rebuilt'}); auth stays away`,
        );
    } else if (primaries.length > 0) {
      const detail = `${region.id}: database ${primaries.join(', ')} is read-only but not replicating from ${state.main}; auth stays away until it is rebuilt`;
      next[region.id] = { reason: 'detached', since: wall, epoch: state.epoch, fenced: true, detail };
      reasons.push(detail);
    }
  }
  return next;
}

/**
 * Conditions that last until they end, not events: each is an alert on every decision while it
 * holds. Raised only on evidence — unknown samples never raise (or clear) them.
 */
function lastingAlerts(input: DecideInput, demoted: Record<RegionId, Demotion>, alerts: Alert[]): void {
  const { topology, health, state, now } = input;
  const policy = topology.policy;
  for (const [id, d] of Object.entries(demoted)) {
    if (d.reason === 'old-main' && !d.fenced)
      alerts.push({
        kind: 'old-main-unfenced',
        subject: id,
        message: `${id} (old main since epoch ${d.epoch}) is not fenced: its databases did not answer; it is fenced when it answers, and must not come back writable (hard fence, docs/runbook.md#old-main-unfenced)`,
      });
    else
      alerts.push({
        kind: 'rebuild-needed',
        subject: id,
        message: `${id} (${d.reason === 'old-main' ? 'fenced old main' : d.reason}) must be rebuilt as a replica of ${state.main} before it serves auth or fails back (docs/runbook.md#rebuild-needed)`,
      });
  }
  const main = regionById(topology, state.main);
  if (!main || main.databases.length === 0) return;
  if (!state.promotion) {
    const readOnly = main.databases.filter((k) => {
      const s = freshSample(health[main.id]?.databases?.[k], policy, now);
      return s !== undefined && s.writable === false;
    });
    if (readOnly.length > 0)
      alerts.push({
        kind: 'main-read-only',
        subject: main.id,
        message: `management points at ${main.id}, but its database ${readOnly.join(', ')} is read-only: management writes fail (docs/runbook.md#main-read-only)`,
      });
  }
  const others = topology.regions.filter(
    (r) => r.id !== main.id && r.role !== 'edge' && r.databases.length > 0,
  );
  if (others.length === 0) return;
  const missing: string[] = [];
  for (const key of main.databases) {
    let known = true;
    let replicated = false;
    for (const r of others) {
      if (!r.databases.includes(key) || demoted[r.id]) continue;
      const db = health[r.id]?.databases?.[key];
      const s = freshSample(db, policy, now);
      const ev = databaseEvidence(health, r, policy, now).find((e) => e.key === key);
      if (s?.role === 'replica' && s.streaming !== false && ev?.status === 'up') replicated = true;
      else if (ev?.status === 'unknown') known = false;
    }
    if (!replicated && known) missing.push(key);
  }
  if (missing.length > 0)
    alerts.push({
      kind: 'no-replica',
      subject: main.id,
      message: `${main.id} (main) has no streaming replica of ${missing.join(', ')}: losing ${main.id} now loses data and leaves nothing to promote (docs/runbook.md#no-replica)`,
    });
}
