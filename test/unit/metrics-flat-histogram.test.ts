import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FlatHistogram } from '../../src/flat-histogram.js';
import { PROBE_DURATION_BUCKETS } from '../../src/metrics.js';

/**
 * The probe-duration and lateness histograms record without allocating (issue 13); their
 * exposition must stay what prom-client's Histogram prints for the same observations, byte for
 * byte, so that dashboards, alerts and promtool see no difference.
 */
const LABELS = [
  { region: 'r1', component: 'gateway' },
  { region: 'r2', component: 'keyManager' },
  { region: 'r1', component: 'database.apim' },
];

describe('FlatHistogram', () => {
  it('exposes exactly what prom-client prints for the same series and values', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(LABELS.length - 1), fc.double({ min: 0, max: 20, noNaN: true })), {
          maxLength: 60,
        }),
        fc.subarray([0, 1, 2], { minLength: 0 }),
        async (obs, zeroed) => {
          const ours = new Registry();
          const theirs = new Registry();
          const flat = new FlatHistogram(
            'x_seconds',
            'help text',
            PROBE_DURATION_BUCKETS,
            ['region', 'component'],
            [ours],
          );
          const prom = new Histogram({
            name: 'x_seconds',
            help: 'help text',
            labelNames: ['region', 'component'],
            buckets: PROBE_DURATION_BUCKETS,
            registers: [theirs],
          });
          // Series created before any observation are exported at 0 (prom-client: zero()).
          for (const i of zeroed) {
            flat.series(LABELS[i] as Record<string, string>);
            prom.zero(LABELS[i] as Record<string, string>);
          }
          for (const [i, v] of obs) {
            flat.observe(flat.series(LABELS[i] as Record<string, string>), v);
            prom.observe(LABELS[i] as Record<string, string>, v);
          }
          expect(await ours.metrics()).toBe(await theirs.metrics());
        },
      ),
      { numRuns: 200 },
    );
  });

  it('without labels and after a remove it matches too; a reset zeroes the series', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const flat = new FlatHistogram('l_seconds', 'lateness', [0.001, 0.01], [], [ours]);
    const prom = new Histogram({
      name: 'l_seconds',
      help: 'lateness',
      buckets: [0.001, 0.01],
      registers: [theirs],
    });
    const s = flat.series({});
    for (const v of [0, 0.001, 0.0011, 0.5]) {
      flat.observe(s, v);
      prom.observe(v);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.metrics()).toContain('l_seconds_bucket{le="0.001"} 2\nl_seconds_bucket{le="0.01"} 3');
    // Unlike prom-client's, a reset keeps the series (callers hold them) and zeroes them.
    ours.resetMetrics();
    expect(await ours.metrics()).toContain(
      'l_seconds_bucket{le="+Inf"} 0\nl_seconds_sum 0\nl_seconds_count 0',
    );

    const a = new Registry();
    const b = new Registry();
    const f = new FlatHistogram('d', 'd', [1], ['target'], [a]);
    const p = new Histogram({ name: 'd', help: 'd', labelNames: ['target'], buckets: [1], registers: [b] });
    f.observe(f.series({ target: 'x' }), 2);
    f.observe(f.series({ target: 'y' }), 0.5);
    p.observe({ target: 'x' }, 2);
    p.observe({ target: 'y' }, 0.5);
    f.remove({ target: 'x' });
    p.remove({ target: 'x' });
    expect(await a.metrics()).toBe(await b.metrics());
  });
});
