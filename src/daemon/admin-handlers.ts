import { decide } from '../decide/decide.js';
import type { DecideInput, Plan } from '../decide/types.js';
import type {
  Actor,
  AdminHandlers,
  FailoverPreview,
  FailoverResult,
  OverrideResult,
  SwitchoverRequest,
  SwitchoverResult,
} from '../server/admin.js';
import {
  type AdminErrorStatus,
  AdminRequestError,
  adminConflict,
  adminInvalid,
  adminNotFound,
} from '../server/admin.js';
import { appendJournal } from '../state/journal.js';
import type { JournalEntry, OverrideNote, PersistedState } from '../state/types.js';
import { regionById } from '../topology/build.js';
import type { RegionId, Topology } from '../topology/types.js';
import { type Random, randomId, systemRandom } from '../util/random.js';
import type { StateKeeper } from './state-keeper.js';

export interface AdminContext {
  topology: Topology;
  keeper: StateKeeper;
  /** Wall time (ms since the epoch) to label notes and journal entries. */
  wall(): number;
  random?: Random;
  /** The engine input as the next decision would see it. */
  input(): DecideInput;
  /**
   * Gets the request acted on and resolves when it has been: on the instance that acts, one
   * decision-and-act cycle now; on a follower (several instances on etcd), a bounded wait until
   * the leader's writes make `until` true (or, without `until`, until the leader next writes).
   */
  evaluate(until?: (s: Readonly<PersistedState>) => boolean, timeoutMs?: number): Promise<Plan | undefined>;
  /** How long a follower waits for the leader to run a planned switchover (ms). */
  switchoverWaitMs?: number;
  /** Whether this instance is the one that acts; the leader's name when it is not. */
  leading?(): { self: boolean; leader?: string };
  log(event: Record<string, unknown>, message: string): void;
  /** The planned switchover (src/daemon/switchover.ts). */
  switchover(request: SwitchoverRequest, actor: Actor): Promise<SwitchoverResult>;
}

type OverrideKind = 'drain' | 'undrain' | 'freeze' | 'unfreeze' | 'failover' | 'switchover';

/** "by alice: reason" — how an operator request reads in a journal entry or a log line. */
export function attribution(actor: Actor): string {
  return `by ${actor.by}${actor.reason ? `: ${actor.reason}` : ' (no reason given)'}`;
}

/**
 * The journal entry of an operator request: the journal is the audit trail, so every override
 * change (and every failover or switchover request) is one entry, with who and why.
 */
export function auditEntry(
  ctx: Pick<AdminContext, 'wall' | 'random'>,
  state: Readonly<PersistedState>,
  kind: OverrideKind,
  target: string,
  actor: Actor,
  detail: string,
): JournalEntry {
  return {
    id: randomId(ctx.random ?? systemRandom),
    epoch: state.engine.epoch,
    action: 'override',
    target,
    phase: 'done',
    at: ctx.wall(),
    detail: `${kind} ${target}: ${detail} (${attribution(actor)})`,
    by: actor.by,
    ...(actor.reason ? { reason: actor.reason } : {}),
  };
}

/** The admin API's operations: overrides change the persisted state, then a decision runs at once. */
export function adminHandlers(ctx: AdminContext): AdminHandlers {
  const known = (region: RegionId) => {
    if (!regionById(ctx.topology, region)) throw adminNotFound(`unknown region "${region}"`);
  };
  const noteOf = (actor: Actor): OverrideNote => ({
    by: actor.by,
    at: ctx.wall(),
    ...(actor.reason ? { reason: actor.reason } : {}),
  });
  /** Applies an override change, and when it changes something, its note and journal entry in the same save. */
  const override = async (
    kind: OverrideKind,
    target: string,
    actor: Actor,
    change: (d: PersistedState) => boolean,
    message: string,
    unchanged: string,
  ): Promise<OverrideResult> => {
    let changed = false;
    const next = await ctx.keeper.update((d) => {
      changed = change(d);
      if (changed) Object.assign(d, appendJournal(d, auditEntry(ctx, d, kind, target, actor, message)));
    });
    ctx.log(
      {
        event: 'override',
        kind,
        target,
        changed,
        by: actor.by,
        ...(actor.reason ? { reason: actor.reason } : {}),
        overrides: next.overrides,
      },
      `${changed ? message : unchanged} (${attribution(actor)})`,
    );
    if (changed) await ctx.evaluate();
    return {
      changed,
      message: changed ? message : unchanged,
      overrides: ctx.keeper.current.overrides,
      by: actor.by,
      ...(actor.reason ? { reason: actor.reason } : {}),
    };
  };

  return {
    drain: async (region, actor) => {
      known(region);
      return override(
        'drain',
        region,
        actor,
        (d) => {
          if (d.overrides.drained.includes(region)) return false;
          d.overrides.drained.push(region);
          d.notes = { ...d.notes, drained: { ...d.notes?.drained, [region]: noteOf(actor) } };
          return true;
        },
        `drained ${region}: its api and auth traffic leave it`,
        `${region} was already drained`,
      );
    },
    undrain: async (region, actor) => {
      known(region);
      return override(
        'undrain',
        region,
        actor,
        (d) => {
          const before = d.overrides.drained.length;
          d.overrides.drained = d.overrides.drained.filter((r) => r !== region);
          if (d.notes?.drained) {
            const { [region]: _gone, ...rest } = d.notes.drained;
            d.notes = { ...d.notes, drained: rest };
          }
          return d.overrides.drained.length !== before;
        },
        `undrained ${region}: it serves again where its health allows`,
        `${region} was not drained`,
      );
    },
    freeze: async (actor) =>
      override(
        'freeze',
        'director',
        actor,
        (d) => {
          if (d.overrides.frozen) return false;
          d.overrides.frozen = true;
          d.notes = { ...d.notes, frozen: noteOf(actor) };
          return true;
        },
        'frozen: no DNS change and no database action until unfreeze',
        'already frozen',
      ),
    unfreeze: async (actor) =>
      override(
        'unfreeze',
        'director',
        actor,
        (d) => {
          if (!d.overrides.frozen) return false;
          d.overrides.frozen = false;
          if (d.notes) delete d.notes.frozen;
          return true;
        },
        'unfrozen: decisions apply again',
        'was not frozen',
      ),
    failover: async ({ to, force, dryRun }, actor): Promise<FailoverResult> => {
      known(to);
      const region = regionById(ctx.topology, to);
      const state = ctx.keeper.current;
      if (region?.role === 'edge' || region?.databases.length === 0)
        throw adminInvalid(`"${to}" has no databases to promote; fail over to the main or a failover region`);
      // Already in the requested state: not an error (like drain on a drained region).
      if (state.engine.main === to && !state.engine.promotion) {
        const input = ctx.input();
        return {
          applied: false,
          dryRun,
          already: true,
          message: `${to} is already the main (epoch ${state.engine.epoch}); nothing to do`,
          plan: previewOf(decide(input), input, to, force),
        };
      }
      if (state.engine.promotion)
        throw adminConflict(
          `a promotion of ${state.engine.promotion.to} (epoch ${state.engine.promotion.epoch}) is in progress`,
        );
      if (state.overrides.frozen) throw adminConflict('the director is frozen: unfreeze before a failover');
      const input = ctx.input();
      input.overrides = { ...input.overrides, failover: { to, force } };
      const preview = withLagIfRefused(previewOf(decide(input), input, to, force), input, to, force);
      if (dryRun)
        return { applied: false, dryRun: true, message: `failover to ${to}: dry run`, plan: preview };
      if (preview.blocked) throw adminConflict(preview.blocked);
      const requested = `operator failover from ${state.engine.main} to ${to}${force ? ' (forced past the RPO guard)' : ''} requested`;
      await ctx.keeper.update((d) => {
        d.overrides.failover = { to, force };
        Object.assign(d, appendJournal(d, auditEntry(ctx, d, 'failover', to, actor, requested)));
      });
      ctx.log(
        {
          event: 'override',
          kind: 'failover',
          target: to,
          failover: { to, force },
          by: actor.by,
          ...(actor.reason ? { reason: actor.reason } : {}),
        },
        `${requested} (${attribution(actor)})`,
      );
      await ctx.evaluate((s) => s.engine.main === to || s.engine.promotion?.to === to);
      // The attempt is over: the request does not linger to fire later, when nobody expects it.
      await ctx.keeper.update((d) => {
        delete d.overrides.failover;
      });
      const after = ctx.keeper.current.engine;
      const who = { by: actor.by, ...(actor.reason ? { reason: actor.reason } : {}) };
      if (after.main === to)
        return {
          applied: true,
          dryRun: false,
          complete: true,
          message: `failover from ${preview.from} to ${to} applied: ${to} is the main (epoch ${after.epoch})`,
          plan: preview,
          ...who,
        };
      if (after.promotion?.to === to)
        return {
          applied: true,
          dryRun: false,
          complete: false,
          message: `promotion of ${to} (epoch ${after.promotion.epoch}) started but NOT complete: ${preview.from} stays fenced, management has not moved; the director keeps retrying (switchyard status, the daemon log)`,
          plan: preview,
          ...who,
        };
      throw adminConflict(
        `failover to ${to} did not start: ${preview.reasons.at(-1) ?? 'see the daemon log'}`,
      );
    },
    switchover: async (request, actor) => {
      known(request.to);
      // The switchover's steps (fence, catch up, promote) run where the promoters act: the leader.
      // Asked of another instance, it is a request in the state that the leader answers.
      const where = ctx.leading?.();
      if (where && !where.self && !request.dryRun) return viaLeader(ctx, request, actor, where.leader);
      const state = ctx.keeper.current;
      if (!request.dryRun && !(state.engine.main === request.to && !state.engine.promotion)) {
        const requested = `planned switchover from ${state.engine.main} to ${request.to} requested`;
        await ctx.keeper.update((d) => {
          Object.assign(d, appendJournal(d, auditEntry(ctx, d, 'switchover', request.to, actor, requested)));
        });
        ctx.log(
          {
            event: 'override',
            kind: 'switchover',
            target: request.to,
            switchover: { to: request.to },
            by: actor.by,
            ...(actor.reason ? { reason: actor.reason } : {}),
          },
          `${requested} (${attribution(actor)})`,
        );
      }
      return ctx.switchover(request, actor);
    },
  };
}

/**
 * A planned switchover asked of an instance that does not lead: recorded as a request in the
 * state (with who and why), run by the leader, answered under the request's id. Resolves with the
 * leader's result, or rethrows its refusal.
 */
async function viaLeader(
  ctx: AdminContext,
  request: SwitchoverRequest,
  actor: Actor,
  leader: string | undefined,
): Promise<SwitchoverResult> {
  const id = randomId(ctx.random ?? systemRandom);
  const requested = `planned switchover to ${request.to} requested through this instance; the leader${leader ? ` (${leader})` : ''} runs it`;
  await ctx.keeper.update((d) => {
    d.requests = {
      ...d.requests,
      switchover: {
        id,
        to: request.to,
        by: actor.by,
        ...(actor.reason ? { reason: actor.reason } : {}),
        at: ctx.wall(),
      },
    };
    Object.assign(d, appendJournal(d, auditEntry(ctx, d, 'switchover', request.to, actor, requested)));
  });
  ctx.log(
    {
      event: 'override',
      kind: 'switchover',
      target: request.to,
      by: actor.by,
      ...(actor.reason ? { reason: actor.reason } : {}),
      request: id,
    },
    `${requested} (${attribution(actor)})`,
  );
  const waitMs = ctx.switchoverWaitMs ?? 120_000;
  await ctx.evaluate((s) => s.answers?.switchover?.id === id, waitMs);
  const answer = ctx.keeper.current.answers?.switchover;
  if (answer?.id !== id)
    throw adminConflict(
      `the leader${leader ? ` (${leader})` : ''} did not answer the switchover to ${request.to} within ${Math.round(waitMs / 1000)} s; it may still run it: switchyard status shows the outcome`,
    );
  if (answer.refused)
    throw new AdminRequestError(answer.refused.status as AdminErrorStatus, answer.refused.message);
  return answer.result as unknown as SwitchoverResult;
}

/**
 * A failover the RPO guard refuses plans no promotion, so its preview would show neither the lag
 * nor what --force would lose. Decide once more as if forced, to show the operator both.
 */
function withLagIfRefused(
  preview: FailoverPreview,
  input: DecideInput,
  to: RegionId,
  force: boolean,
): FailoverPreview {
  if (!preview.blocked || force) return preview;
  const forced: DecideInput = { ...input, overrides: { ...input.overrides, failover: { to, force: true } } };
  const what = previewOf(decide(forced), forced, to, true);
  return what.promotion ? { ...preview, epoch: what.epoch, promotion: what.promotion } : preview;
}

function previewOf(plan: Plan, input: DecideInput, to: RegionId, force: boolean): FailoverPreview {
  const promote = plan.actions.find((a) => a.type === 'promote' && a.region === to);
  const policy = input.topology.policy.promotion;
  const records = plan.records
    .filter((r) => JSON.stringify(input.state.weights[r.key] ?? {}) !== JSON.stringify(r.weights))
    .map((r) => ({ key: r.key, name: r.name, from: input.state.weights[r.key] ?? {}, to: r.weights }));
  const blockedReason = plan.reasons.find((r) => r.startsWith(`operator failover to ${to}`) && !promote);
  const lagSeconds = promote?.type === 'promote' ? promote.lagSeconds : null;
  const lagBytes = promote?.type === 'promote' ? promote.lagBytes : null;
  return {
    from: input.state.main,
    to,
    force,
    epoch: plan.epoch,
    epochNow: input.state.epoch,
    records,
    promotion:
      promote?.type === 'promote'
        ? {
            databases: promote.databases,
            lagSeconds,
            lagBytes,
            maxLagSeconds: policy.maxLagSeconds,
            maxLagBytes: policy.maxLagBytes,
            withinBound:
              lagSeconds !== null &&
              lagBytes !== null &&
              lagSeconds <= policy.maxLagSeconds &&
              lagBytes <= policy.maxLagBytes,
          }
        : null,
    reasons: plan.reasons,
    ...(promote ? {} : { blocked: blockedReason ?? `no promotion of ${to} is possible now` }),
  };
}
