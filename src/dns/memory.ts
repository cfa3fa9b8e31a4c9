import type { RecordDef } from '../topology/types.js';
import type { ApplyMeta, ApplyResult, DnsProvider, WeightedSet } from './types.js';

/**
 * An in-memory provider for tests and simulations. It records every batch it was asked to write
 * and can be told to fail, so reconciler behaviour (coalescing, retries) is observable.
 */
export class MemoryDnsProvider implements DnsProvider {
  readonly kind = 'memory' as const;
  private readonly sets = new Map<string, WeightedSet>();
  private failures: Error[] = [];
  /** Every batch written, in order. */
  readonly batches: WeightedSet[][] = [];
  reads = 0;
  /** The origin of every batch written (who wrote it), in order. */
  readonly origins: string[] = [];

  constructor(initial: readonly WeightedSet[] = []) {
    for (const s of initial) this.sets.set(keyOf(s), clone(s));
  }

  /** The next `errors.length` calls (read or apply) fail with these errors, in order. */
  failNext(...errors: Error[]): void {
    this.failures.push(...errors);
  }

  async read(records: readonly RecordDef[]): Promise<WeightedSet[]> {
    this.reads++;
    this.maybeFail();
    const keys = new Set(records.map((r) => r.key));
    return [...this.sets.values()].filter((s) => keys.has(s.recordKey)).map(clone);
  }

  async apply(sets: readonly WeightedSet[], meta?: ApplyMeta): Promise<ApplyResult> {
    if (meta?.origin) this.origins.push(meta.origin);
    if (sets.length === 0) return { writeCalls: 0 };
    this.maybeFail();
    this.batches.push(sets.map(clone));
    for (const s of sets) this.sets.set(keyOf(s), clone(s));
    return { writeCalls: 1, propagationMs: 0 };
  }

  /** Everything currently "live". */
  snapshot(): WeightedSet[] {
    return [...this.sets.values()].map(clone);
  }

  /** Changes a live set behind switchyard's back (drift, another operator). */
  put(set: WeightedSet): void {
    this.sets.set(keyOf(set), clone(set));
  }

  private maybeFail(): void {
    const err = this.failures.shift();
    if (err) throw err;
  }
}

function keyOf(s: WeightedSet): string {
  return `${s.recordKey}|${s.setIdentifier}`;
}

function clone(s: WeightedSet): WeightedSet {
  return {
    ...s,
    ...(s.values ? { values: [...s.values] } : {}),
    ...(s.alias ? { alias: { ...s.alias } } : {}),
  };
}
