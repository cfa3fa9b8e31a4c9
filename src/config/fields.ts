import { z } from 'zod';
import { MAX_TIMER_MS } from '../util/clock.js';
import { formatBytes, formatDuration, parseDuration, parseSize } from '../util/duration.js';

export const SECOND = 1_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

/** "100ms–1h": a bound as the reference and the error messages write it. */
export function durationRange(min: number, max: number): string {
  return `${formatDuration(min)}–${formatDuration(max)}`;
}

/** Why a bound exists, in a few words, for the error message ("a probe more often floods the target"). */
export interface BoundReasons {
  min?: string;
  max?: string;
}

/**
 * A duration with bounds, compiled to milliseconds. Nothing in switchyard's configuration may be
 * longer than a timer can hold (2^31−1 ms, about 24.8 days: past it setTimeout fires at once).
 * The message names the bound and why it is there; the path is added by the caller.
 */
export function durationIn(min: number, max: number, why: BoundReasons = {}) {
  const upper = Math.min(max, MAX_TIMER_MS);
  return z
    .string({ error: 'expected a duration such as "500ms", "2s", "5m" or "1h"' })
    .transform((text, ctx) => {
      const ms = parseDuration(text);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `"${text}" is not a duration; write it like "500ms", "2s", "5m" or "1h"`,
        });
        return z.NEVER;
      }
      if (ms < min || ms > upper) {
        const low = ms < min;
        const reason = low ? why.min : why.max;
        ctx.addIssue({
          code: 'custom',
          message: `"${text}" is too ${low ? 'short' : 'long'}: ${low ? `at least ${formatDuration(min)}` : `at most ${formatDuration(upper)}`} (${durationRange(min, upper)})${reason ? `: ${reason}` : ''}`,
        });
        return z.NEVER;
      }
      return ms;
    });
}

/** A size with bounds, compiled to bytes. */
export function sizeIn(min: number, max: number, why: BoundReasons = {}) {
  return size.superRefine((n, ctx) => {
    if (n >= min && n <= max) return;
    const low = n < min;
    const reason = low ? why.min : why.max;
    ctx.addIssue({
      code: 'custom',
      message: `${formatBytes(n)} is too ${low ? 'small' : 'large'}: ${low ? `at least ${formatBytes(min)}` : `at most ${formatBytes(max)}`}${reason ? `: ${reason}` : ''}`,
    });
  });
}

/** "500ms" | "2s" | "5m" | "1h" → milliseconds, unbounded (scenarios); the configuration uses durationIn. */
export const duration = z
  .string({ error: 'expected a duration such as "500ms", "2s", "5m" or "1h"' })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${text}" is not a duration; write it like "500ms", "2s", "5m" or "1h"`,
      });
      return z.NEVER;
    }
    return ms;
  });

/** "16MiB" | "512KiB" | 1048576 → bytes. */
export const size = z
  .union([z.string(), z.number()], { error: 'expected a size such as "16MiB" or a byte count' })
  .transform((v, ctx) => {
    const n = parseSize(v);
    if (n === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${v}" is not a size; write it like "512KiB", "16MiB" or a whole number of bytes`,
      });
      return z.NEVER;
    }
    return n;
  });

/** Secrets are never inline: a reference to an environment variable or a file. */
export const SECRET_REF_RE = /^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/\S+)$/;
export const secretRef = z
  .string({ error: 'expected a secret reference: env:NAME or file:/absolute/path' })
  .regex(
    SECRET_REF_RE,
    'must be a secret reference, env:NAME or file:/absolute/path (inline secrets are not accepted)',
  );

export const regionId = z
  .string()
  .regex(
    /^[a-z][a-z0-9-]{0,31}$/,
    'region ids are lower-case letters, digits and "-", starting with a letter',
  );

export const dnsName = z
  .string()
  .regex(
    /^(?=.{1,253}\.?$)([a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}\.?$/,
    'not a valid DNS name',
  );

export const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464');

export const weight = z
  .number()
  .int('weights are whole numbers')
  .min(0)
  .max(255, 'Route 53 weights are 0–255');

export const share = z.number().min(0).max(1);
