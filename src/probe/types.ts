/** What one probe run found. Probes never throw past their boundary: failures are results. */
export interface ProbeResult {
  ok: boolean;
  /** When the probe started (ms since the epoch). */
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

/** A probe of one target; `run` is bounded by the target's timeout and never rejects. */
export interface Probe<R extends ProbeResult = ProbeResult> {
  run(signal?: AbortSignal): Promise<R>;
  close(): Promise<void>;
}
