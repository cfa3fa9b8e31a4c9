import { z } from 'zod';
import type { PersistedState } from './types.js';

/**
 * The shape of the state file, checked on every load: a file that parses as JSON but is not
 * switchyard state (hand-edited, truncated differently, another program's file) must stop the
 * daemon rather than be half-trusted.
 */
const trafficClass = z.enum(['api', 'auth', 'management']);

const engineState = z.object({
  epoch: z.number().int().min(0),
  main: z.string().min(1),
  out: z.record(z.string(), z.array(trafficClass)),
  weights: z.record(z.string(), z.record(z.string(), z.number().int().min(0).max(255))),
  promotion: z
    .object({
      to: z.string().min(1),
      from: z.string().min(1),
      epoch: z.number().int().min(0),
      startedAt: z.number(),
      force: z.boolean(),
    })
    .optional(),
  demoted: z
    .record(
      z.string(),
      z.object({
        reason: z.enum(['old-main', 'split-brain', 'detached']),
        since: z.number(),
        epoch: z.number().int().min(0),
        fenced: z.boolean(),
        detail: z.string(),
      }),
    )
    .optional(),
});

const overrides = z.object({
  drained: z.array(z.string().min(1)),
  frozen: z.boolean(),
  routes: z.record(z.string(), z.string().min(1)),
  failover: z.object({ to: z.string().min(1), force: z.boolean() }).optional(),
});

const journalEntry = z.object({
  id: z.string().min(1),
  epoch: z.number().int().min(0),
  action: z.enum(['promote', 'fence', 'dns', 'override', 'lead']),
  target: z.string(),
  phase: z.enum(['intent', 'done', 'failed', 'abandoned']),
  at: z.number(),
  detail: z.string(),
  by: z.string().optional(),
  reason: z.string().optional(),
});

const note = z.object({ by: z.string(), at: z.number(), reason: z.string().optional() });
const notes = z.object({ drained: z.record(z.string(), note).optional(), frozen: note.optional() });

export const persistedStateSchema = z.object({
  version: z.literal(1),
  engine: engineState,
  overrides: overrides,
  notes: notes.optional(),
  journal: z.array(journalEntry),
  requests: z
    .object({
      switchover: z
        .object({
          id: z.string(),
          to: z.string(),
          by: z.string(),
          reason: z.string().optional(),
          at: z.number(),
        })
        .optional(),
    })
    .optional(),
  answers: z
    .object({
      switchover: z
        .object({
          id: z.string(),
          result: z.record(z.string(), z.unknown()).optional(),
          refused: z.object({ status: z.number(), message: z.string() }).optional(),
        })
        .optional(),
    })
    .optional(),
});

// Compile-time check that the schema and the hand-written interface agree.
type Parsed = z.output<typeof persistedStateSchema>;
const _agree: [Parsed] extends [PersistedState] ? ([PersistedState] extends [Parsed] ? true : false) : false =
  true;
void _agree;

/** Formats zod issues as "engine.epoch: expected number" lines. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
}
