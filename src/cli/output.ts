/** Plain-text output helpers for the CLI: aligned columns, colour only on a terminal. */

export interface TableOptions {
  /** Column separator; two spaces by default. */
  gap?: string;
  /** Underline the header with dashes. */
  rule?: boolean;
}

/**
 * Left-aligned columns sized by the widest cell. Widths ignore ANSI colour codes, so coloured
 * cells line up too. Trailing spaces are trimmed so output diffs cleanly.
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  opts: TableOptions = {},
): string {
  const gap = opts.gap ?? '  ';
  const all = [header, ...rows];
  const cols = Math.max(...all.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, i) =>
    Math.max(...all.map((r) => visibleLength(r[i] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    widths
      .map((w, i) => {
        const c = cells[i] ?? '';
        return c + ' '.repeat(Math.max(0, w - visibleLength(c)));
      })
      .join(gap)
      .trimEnd();
  const out = [line(header)];
  if (opts.rule !== false) out.push(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) out.push(line(r));
  return `${out.join('\n')}\n`;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
const ANSI = /\u001b\[[0-9;]*m/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

export function visibleLength(s: string): number {
  return stripAnsi(s).length;
}

export type Colour = 'red' | 'green' | 'yellow' | 'bold' | 'dim';
const CODES: Record<Colour, [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  bold: [1, 22],
  dim: [2, 22],
};

/** Colour is on only for a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function colourEnabled(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
}

export type Painter = (text: string, colour: Colour) => string;

export function painter(enabled: boolean): Painter {
  return enabled ? (t, c) => `\u001b[${CODES[c][0]}m${t}\u001b[${CODES[c][1]}m` : (t) => t;
}

/** "12s", "5m", "3h20m", "2d4h": a compact age for the status table. */
export function formatAge(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`;
}

/** 2048 → "2.0 KiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
