/** What one probe run found. Probes never throw past their boundary: failures are results. */
export interface ProbeResult {
  ok: boolean;
  /** When the probe started: the clock's monotonic milliseconds (labels convert with `isoAt`). */
  at: number;
  latencyMs: number;
  /** A short human-readable description: "200 OK in 12ms", "connect ECONNREFUSED", "timeout after 2s". */
  detail: string;
  /** A stable machine code for failures: timeout, refused, status, body-mismatch, body-too-large, tls, protocol, … */
  error?: string;
  status?: number;
}

/** A database probe also reports the role, writability and replication position it saw. */
export interface DatabaseProbeResult extends ProbeResult {
  engine?: 'postgres' | 'mysql' | 'mariadb';
  role?: 'primary' | 'replica';
  writable?: boolean;
  lagSeconds?: number | null;
  lagBytes?: number | null;
  /** Replica only: is the replication stream (WAL receiver / IO thread) running? */
  streaming?: boolean;
  /** Engine-specific position: LSN for PostgreSQL, GTID set for MySQL/MariaDB. */
  position?: string;
}

/**
 * A probe of one target; `run` never rejects. Called with a signal, the run ends when the signal
 * aborts (the scheduler's signal carries the target's timeout: one deadline per run, not one per
 * layer); called without one, the probe bounds the run by its own timeout.
 */
export interface Probe<R extends ProbeResult = ProbeResult> {
  run(signal?: AbortSignal): Promise<R>;
  /**
   * Drops whatever connection the probe keeps, at once and without waiting: a run still in flight
   * on it settles as a failure, and the next run starts on a fresh connection. The scheduler calls
   * it when a run outlives its timeout (a wedged connection must not wedge the target).
   */
  reset?(reason: string): void;
  close(): Promise<void>;
}
