import { readFileSync } from 'node:fs';

/** What the benchmark scripts share: their command-line options and /proc accounting of a process. */

const CLK_TCK = 100; // getconf CLK_TCK on Linux

/** `--name N`: a positive number, or the default. */
export function num(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : dflt;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
}
/** `--name text`, or the default. */
export function str(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? String(process.argv[i + 1]) : dflt;
}
export const flag = (name: string) => process.argv.includes(`--${name}`);
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const mib = (b: number) => +(b / 1_048_576).toFixed(1);

/** CPU seconds (user + system) a process has used so far. */
export function procCpuS(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
}
/** A process's resident memory now and its peak (VmHWM), in bytes. */
export function procMem(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}
