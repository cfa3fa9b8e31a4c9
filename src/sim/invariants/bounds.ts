import type { Config } from '../../config/schema.js';
import { buildHealthTargets } from '../../health/targets.js';

/**
 * Time bounds the liveness invariants allow, derived from the configuration the same way an
 * operator would reason about it. Each is a sum of the steps on the way, plus a margin.
 */
export interface Bounds {
  /** A component failing from every observer → its traffic has left (DNS written). */
  detectMs: number;
  /** A recovered component → its traffic is back. */
  recoverMs: number;
  /** Route 53 healthy again → a pending change lands (backoff, retries, a request timeout in flight). */
  dnsRecoveryMs: number;
  /** Everything healed → every record at its nominal weights (includes a full reconcile period for drift). */
  convergeMs: number;
  /** After the world turns nominal, decisions made on the evidence from before may still land. */
  graceMs: number;
  /** The main's databases unreachable → promoted and verified (round 2). */
  promoteMs: number;
  /** A non-main writable database seen by a quorum → fenced (round 2). */
  splitBrainMs: number;
  /** The instances' decision tick. */
  tickMs: number;
  /** The periodic full reconcile that corrects drift (the daemon's cron job). */
  fullReconcileMs: number;
}

export function computeBounds(
  config: Config,
  opts: { tickMs?: number; fullReconcileMs?: number } = {},
): Bounds {
  const targets = buildHealthTargets(config);
  const interval = Math.max(...targets.map((t) => t.intervalMs));
  const timeout = Math.max(...targets.map((t) => t.timeoutMs));
  const jitter = config.probes.jitter;
  const fall = Math.max(...targets.map((t) => t.fall));
  const rise = Math.max(...targets.map((t) => t.rise));
  const probe = interval * (1 + jitter);
  const tick = opts.tickMs ?? 1_000;
  const r53 = config.dns.route53;
  // The reconciler's backoff tops out at 30 s; the provider retries maxRetries times with
  // backoff up to 8 s; a call in flight when the API recovers may still run into its 15 s
  // request timeout; then the write itself (paced at 5 requests/s).
  const dnsRecoveryMs = 30_000 + (r53?.maxRetries ?? 6) * 8_000 + 15_000 + 5_000;
  const dnsWrite = 5_000;
  const margin = 10_000;
  const detectMs = fall * probe + timeout + config.policy.failAfter + tick + dnsWrite + margin;
  const recoverMs = rise * probe + timeout + config.policy.recoverAfter + tick + dnsWrite + margin;
  const fullReconcileMs = opts.fullReconcileMs ?? 5 * 60_000;
  return {
    detectMs,
    recoverMs,
    dnsRecoveryMs,
    convergeMs: Math.max(recoverMs, detectMs) + dnsRecoveryMs + fullReconcileMs,
    graceMs: rise * probe + timeout + 2 * tick,
    // Two attempts of the failover sequence (the old main's fence may take its whole bound:
    // connect + 3 statements, then the hard fence's timeout; the promotion its 60 s + connect),
    // and the actuator's first backoff in between.
    promoteMs:
      fall * probe +
      timeout +
      config.policy.promotion.promoteAfter +
      tick +
      2 * (3_000 + 15_000 + 30_000 + 63_000) +
      5_000 +
      margin,
    splitBrainMs: 3 * (probe + timeout) + 30_000 + tick + margin,
    tickMs: tick,
    fullReconcileMs,
  };
}
