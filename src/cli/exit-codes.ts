/**
 * Exit codes of the operator commands. Scripts rely on them: never renumber, only add.
 *   0 ok — done, or already in the requested state
 *   1 invalid input or refused — bad region, a failover not confirmed, no TTY without --yes
 *   2 usage — unknown option, missing argument (commander)
 *   3 daemon unreachable — connection refused, timeout, not a switchyard daemon
 *   4 unauthorized — missing or wrong token, or the admin API is disabled (no token configured)
 *   5 conflict / not applied — the daemon refused because of its current state (failover to the
 *     current main, lag over the bound without --force, a promotion already in flight)
 *   6 daemon error — the daemon failed while applying the request (see its log)
 */
export const EXIT = {
  OK: 0,
  INVALID: 1,
  USAGE: 2,
  UNREACHABLE: 3,
  UNAUTHORIZED: 4,
  CONFLICT: 5,
  DAEMON_ERROR: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
