import type { Metric, Registry } from 'prom-client';

/** One exported sample, as prom-client's registry formats it (`le` in labels, the series' in sharedLabels). */
interface Sample {
  labels: Record<string, string | number>;
  sharedLabels: Readonly<Record<string, string>>;
  value: number;
  metricName: string;
}

/** One labelled series: cumulative-at-export bucket counts, in place. */
export interface FlatSeries {
  readonly labels: Readonly<Record<string, string>>;
  /** Per bucket (not cumulative), the last slot for values above the highest bound (+Inf). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A Prometheus histogram whose `observe` allocates nothing. prom-client's builds a label hash
 * string and a wrapper object per observation, which at thousands of probe results a second is
 * steady garbage; here a caller resolves its series once and records into its arrays. The
 * exposition is prom-client's (registered in the registry through the `get()` contract it reads
 * every metric by), byte for byte what a prom-client Histogram with the same series prints.
 */
export class FlatHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames: readonly string[];
  private readonly byKey = new Map<string, FlatSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    labelNames: readonly string[],
    registers: readonly Registry[],
  ) {
    this.labelNames = labelNames;
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  /** The series for these labels (created at 0 if new, so it is exported before any observation). */
  series(labels: Readonly<Record<string, string>>): FlatSeries {
    const key = this.key(labels);
    let s = this.byKey.get(key);
    if (!s) {
      s = { labels: { ...labels }, counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.byKey.set(key, s);
    }
    return s;
  }

  /** Records one value (seconds) into a series from `series()`. */
  observe(s: FlatSeries, value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > (b[i] as number)) i++;
    (s.counts as Float64Array)[i] = ((s.counts as Float64Array)[i] as number) + 1;
    s.sum += value;
    s.count += 1;
  }

  remove(labels: Readonly<Record<string, string>>): void {
    this.byKey.delete(this.key(labels));
  }

  /** Zeroes every series, keeping them (callers hold them; prom-client's reset drops them). */
  reset(): void {
    for (const s of this.byKey.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  /** prom-client's shape: per series the cumulative buckets, +Inf, _sum and _count. */
  get(): { name: string; help: string; type: 'histogram'; values: Sample[]; aggregator: 'sum' } {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.byKey.values()) {
      let acc = 0;
      this.bounds.forEach((le, i) => {
        acc += s.counts[i] as number;
        values.push({ labels: { le }, value: acc, metricName: bucket, sharedLabels: s.labels });
      });
      values.push({ labels: { le: '+Inf' }, value: s.count, metricName: bucket, sharedLabels: s.labels });
      values.push({ labels: {}, value: s.sum, metricName: `${this.name}_sum`, sharedLabels: s.labels });
      values.push({ labels: {}, value: s.count, metricName: `${this.name}_count`, sharedLabels: s.labels });
    }
    return { name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' };
  }

  private key(labels: Readonly<Record<string, string>>): string {
    return this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
  }
}
