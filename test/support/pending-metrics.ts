/**
 * Metrics that deploy/ artefacts (alert rules, the Grafana dashboard) use ahead of the code that
 * exports them: the leader and observer metrics come with the etcd coordination layer (issue 10).
 * The checks accept these names while src/ does not export them yet; once it does, they are
 * checked like every other name.
 * Re-check the exact names when those land (a rule on a name nobody exports never fires).
 */
export const PENDING_METRICS: readonly string[] = ['switchyard_leader', 'switchyard_observer_discounted'];
