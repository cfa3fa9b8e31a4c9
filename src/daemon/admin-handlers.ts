import { decide } from '../decide/decide.js';
import type { DecideInput, Plan } from '../decide/types.js';
import type {
  AdminHandlers,
  FailoverPreview,
  FailoverResult,
  OverrideResult,
  SwitchoverRequest,
  SwitchoverResult,
} from '../server/admin.js';
import { adminConflict, adminInvalid, adminNotFound } from '../server/admin.js';
import { regionById } from '../topology/build.js';
import type { RegionId, Topology } from '../topology/types.js';
import type { StateKeeper } from './state-keeper.js';

export interface AdminContext {
  topology: Topology;
  keeper: StateKeeper;
  /** The engine input as the next decision would see it. */
  input(): DecideInput;
  /** Runs one decision-and-act cycle now and resolves when it is done. */
  evaluate(): Promise<Plan | undefined>;
  log(event: Record<string, unknown>, message: string): void;
  /** The planned switchover (src/daemon/switchover.ts). */
  switchover(request: SwitchoverRequest): Promise<SwitchoverResult>;
}

/** The admin API's operations: overrides change the persisted state, then a decision runs at once. */
export function adminHandlers(ctx: AdminContext): AdminHandlers {
  const known = (region: RegionId) => {
    if (!regionById(ctx.topology, region)) throw adminNotFound(`unknown region "${region}"`);
  };
  const override = async (
    change: (o: { drained: RegionId[]; frozen: boolean }) => boolean,
    message: string,
    unchanged: string,
  ): Promise<OverrideResult> => {
    let changed = false;
    const next = await ctx.keeper.update((d) => {
      changed = change(d.overrides);
    });
    ctx.log({ event: 'override', changed, overrides: next.overrides }, changed ? message : unchanged);
    if (changed) await ctx.evaluate();
    return { changed, message: changed ? message : unchanged, overrides: ctx.keeper.current.overrides };
  };

  return {
    drain: async (region) => {
      known(region);
      return override(
        (o) => {
          if (o.drained.includes(region)) return false;
          o.drained.push(region);
          return true;
        },
        `drained ${region}: its api and auth traffic leave it`,
        `${region} was already drained`,
      );
    },
    undrain: async (region) => {
      known(region);
      return override(
        (o) => {
          const before = o.drained.length;
          o.drained = o.drained.filter((r) => r !== region);
          return o.drained.length !== before;
        },
        `undrained ${region}: it serves again where its health allows`,
        `${region} was not drained`,
      );
    },
    freeze: async () =>
      override(
        (o) => {
          if (o.frozen) return false;
          o.frozen = true;
          return true;
        },
        'frozen: no DNS change and no database action until unfreeze',
        'already frozen',
      ),
    unfreeze: async () =>
      override(
        (o) => {
          if (!o.frozen) return false;
          o.frozen = false;
          return true;
        },
        'unfrozen: decisions apply again',
        'was not frozen',
      ),
    failover: async ({ to, force, dryRun }): Promise<FailoverResult> => {
      known(to);
      const region = regionById(ctx.topology, to);
      const state = ctx.keeper.current;
      if (region?.role === 'edge' || region?.databases.length === 0)
        throw adminInvalid(`"${to}" has no databases to promote; fail over to the main or a failover region`);
      if (state.engine.main === to)
        throw adminConflict(`${to} is already the main (epoch ${state.engine.epoch})`);
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
      await ctx.keeper.update((d) => {
        d.overrides.failover = { to, force };
      });
      ctx.log({ event: 'override', failover: { to, force } }, `operator failover to ${to} requested`);
      await ctx.evaluate();
      // The attempt is over: the request does not linger to fire later, when nobody expects it.
      await ctx.keeper.update((d) => {
        delete d.overrides.failover;
      });
      const after = ctx.keeper.current.engine;
      if (after.main === to)
        return {
          applied: true,
          dryRun: false,
          message: `${to} is the main (epoch ${after.epoch})`,
          plan: preview,
        };
      if (after.promotion?.to === to)
        return {
          applied: true,
          dryRun: false,
          message: `promotion of ${to} (epoch ${after.promotion.epoch}) started but not complete; the director keeps retrying`,
          plan: preview,
        };
      throw adminConflict(
        `failover to ${to} did not start: ${preview.reasons.at(-1) ?? 'see the daemon log'}`,
      );
    },
    switchover: async (request) => {
      known(request.to);
      if (!request.dryRun)
        ctx.log(
          { event: 'override', switchover: { to: request.to } },
          `planned switchover to ${request.to} requested`,
        );
      return ctx.switchover(request);
    },
  };
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
