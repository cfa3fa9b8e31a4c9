/** Durations and sizes as operators write them ("500ms", "2s", "16MiB"), compiled once to numbers. */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses "500ms", "2s", "1.5m", "1h", "1d" into milliseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
  return Number.isFinite(ms) ? Math.round(ms) : undefined;
}

/** Renders milliseconds in the largest unit that keeps it readable ("90s", "2m", "1h30m"). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${+(ms / 1_000).toFixed(1)}s`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.slice(0, 2).join('');
}

const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1_000,
  MB: 1_000_000,
  GB: 1_000_000_000,
  KiB: 1_024,
  MiB: 1_048_576,
  GiB: 1_073_741_824,
};
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)$/;

/** Parses "512KiB", "16MiB", "1GB" (or a plain byte count) into bytes; undefined when malformed. */
export function parseSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isInteger(text) && text >= 0 ? text : undefined;
  const m = SIZE_RE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (SIZE_UNITS[m[2] as string] as number));
}

export function formatBytes(n: number): string {
  if (n >= 1_073_741_824) return `${+(n / 1_073_741_824).toFixed(1)}GiB`;
  if (n >= 1_048_576) return `${+(n / 1_048_576).toFixed(1)}MiB`;
  if (n >= 1_024) return `${+(n / 1_024).toFixed(1)}KiB`;
  return `${n}B`;
}
