import { createHash, type Hash } from 'node:crypto';

/**
 * The compact trace of a run: faults injected and healed, health changes, decisions that changed
 * something, DNS writes, database actions, invariant verdicts. Every line is hashed (with the
 * kernel's event fingerprint at the end) so two runs of a seed can be compared by one string;
 * the last lines are kept for the report of a failing run.
 */
export interface TraceLine {
  /** Virtual time (ms since the start of the run). */
  t: number;
  kind: string;
  text: string;
}

export class Trace {
  private readonly ring: TraceLine[] = [];
  private head = 0;
  private readonly hash: Hash = createHash('sha256');
  lines = 0;

  constructor(
    private readonly keep = 200,
    /** Called with every formatted line (the CLI's --trace). */
    private readonly sink?: (line: string) => void,
  ) {}

  add(t: number, kind: string, text: string): void {
    const line: TraceLine = { t, kind, text };
    this.lines++;
    const formatted = formatLine(line);
    this.hash.update(formatted);
    this.hash.update('\n');
    if (this.ring.length < this.keep) this.ring.push(line);
    else {
      this.ring[this.head] = line;
      this.head = (this.head + 1) % this.keep;
    }
    this.sink?.(formatted);
  }

  /** The last lines, oldest first. */
  tail(n = this.keep): TraceLine[] {
    const ordered = [...this.ring.slice(this.head), ...this.ring.slice(0, this.head)];
    return ordered.slice(Math.max(0, ordered.length - n));
  }

  /** The run's identity: every trace line and the kernel's fingerprint of every event. */
  digest(fingerprint: number, events: number): string {
    const h = this.hash.copy();
    h.update(`events=${events} fingerprint=${fingerprint.toString(16)}`);
    return h.digest('hex').slice(0, 16);
  }
}

/** "+1d 02:03:04.567" — virtual time since the start of the run. */
export function formatVirtual(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  let rest = Math.abs(Math.round(ms));
  const days = Math.floor(rest / 86_400_000);
  rest -= days * 86_400_000;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1_000);
  const milli = rest - s * 1_000;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${sign}${days}d ${p(h)}:${p(m)}:${p(s)}.${p(milli, 3)}`;
}

export function formatLine(l: TraceLine): string {
  return `${formatVirtual(l.t)} ${l.kind.padEnd(9)} ${l.text}`;
}
