import { describe, expect, it } from 'vitest';
import { InsyncPoller } from '../../src/dns/route53-insync.js';
import type { InsyncReport } from '../../src/dns/types.js';
import { FakeClock, sleep } from '../../src/util/clock.js';

function poller(answer: (id: string, asked: string[]) => boolean | Error) {
  const clock = new FakeClock();
  const asked: string[] = [];
  const p = new InsyncPoller({
    clock,
    pollIntervalMs: 1_000,
    syncTimeoutMs: 10_000,
    sleep: (ms) => sleep(clock, ms),
    read: async (id) => {
      asked.push(id);
      const a = answer(id, asked);
      if (a instanceof Error) throw a;
      return a;
    },
  });
  return { clock, asked, p };
}

describe('InsyncPoller: one GetChange poller for every write in flight', () => {
  it('asks about the newest change only; its INSYNC answers every older write too', async () => {
    const { clock, asked, p } = poller((_id, a) => a.length >= 3);
    const got: InsyncReport[] = [];
    void p.watch(['C1'], clock.monotonic()).then((r) => got.push(r));
    await clock.advanceAsync(500);
    void p.watch(['C2', 'C3'], clock.monotonic()).then((r) => got.push(r));
    await clock.advanceAsync(5_000);
    expect(asked).toEqual(['C3', 'C3', 'C3']);
    expect(got.map((r) => [r.changeIds.join('+'), r.status])).toEqual([
      ['C1', 'INSYNC'],
      ['C2+C3', 'INSYNC'],
    ]);
    expect(got[0]?.propagationMs).toBe(3_000);
  });

  it('a write never INSYNC resolves timeout at syncTimeout; an error resolves error; neither rejects', async () => {
    const never = poller(() => false);
    const t = never.p.watch(['C1'], never.clock.monotonic());
    await never.clock.advanceAsync(11_000);
    expect((await t).status).toBe('timeout');
    expect(never.asked.length).toBeLessThanOrEqual(10);

    const broken = poller(() => new Error('throttled for good'));
    const e = broken.p.watch(['C9'], broken.clock.monotonic());
    await broken.clock.advanceAsync(1_000);
    expect((await e).status).toBe('error');
  });

  it('close() resolves every waiter at once, and later watches too', async () => {
    const { clock, p } = poller(() => false);
    const a = p.watch(['C1'], clock.monotonic());
    p.close();
    expect((await a).status).toBe('timeout');
    expect((await p.watch(['C2'], clock.monotonic())).status).toBe('timeout');
  });
});
