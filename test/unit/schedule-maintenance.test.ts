import { describe, expect, it } from 'vitest';
import type { CronFactory } from '../../src/schedule/cron.js';
import { type MaintenanceChange, scheduleMaintenance } from '../../src/schedule/maintenance.js';
import { activeWindows, compileWindows, previousFire } from '../../src/schedule/windows.js';
import { FakeClock } from '../../src/util/clock.js';

const H = 3_600_000;
const sun0200 = Date.parse('2026-11-29T02:00:00Z'); // a Sunday

// Sundays 02:00 UTC for 2 hours in r3; every day 12:00 Paris time for 30 minutes in r4.
const windows = [
  { region: 'r3', cron: '0 2 * * 0', duration: 2 * H },
  { region: 'r4', cron: '0 12 * * *', duration: 30 * 60_000, timezone: 'Europe/Paris' },
];

/** A cron trigger driven by the test instead of the wall clock. */
function manualCron(): { factory: CronFactory; fire(i: number, at: number): void; stopped: number } {
  const fns: ((at: number) => void | Promise<void>)[] = [];
  const out = {
    stopped: 0,
    factory: ((_expr, fn) => {
      fns.push(fn);
      return { stop: () => void out.stopped++ };
    }) as CronFactory,
    fire: (i: number, at: number) => void fns[i]?.(at),
  };
  return out;
}

describe('activeWindows', () => {
  const compiled = compileWindows(windows);

  it('is empty outside every window', () => {
    expect(activeWindows(compiled, sun0200 - 1)).toEqual([]);
  });

  it('opens at the fire time and stays open for the duration', () => {
    expect(activeWindows(compiled, sun0200)).toEqual([
      { index: 0, region: 'r3', start: sun0200, end: sun0200 + 2 * H },
    ]);
    expect(activeWindows(compiled, sun0200 + 2 * H - 1)).toHaveLength(1);
  });

  it('closes when the duration is over (window ended)', () => {
    expect(activeWindows(compiled, sun0200 + 2 * H)).toEqual([]);
  });

  it('honours the window timezone (12:00 Paris = 11:00 UTC in November)', () => {
    const noonParis = Date.parse('2026-11-26T11:00:00Z');
    expect(activeWindows(compiled, noonParis + 10 * 60_000)).toEqual([
      { index: 1, region: 'r4', start: noonParis, end: noonParis + 30 * 60_000 },
    ]);
    expect(activeWindows(compiled, Date.parse('2026-11-26T12:10:00Z'))).toEqual([]);
  });

  it('finds fire times of 6-field (seconds) expressions', () => {
    const c = compileWindows([{ region: 'r1', cron: '30 15 3 * * *', duration: 60_000 }]);
    const at = Date.parse('2026-11-26T03:15:30Z');
    expect(activeWindows(c, at + 10_000)).toEqual([{ index: 0, region: 'r1', start: at, end: at + 60_000 }]);
    expect(activeWindows(c, at - 1)).toEqual([]);
  });

  it('previousFire looks back no further than asked', () => {
    const [w] = compiled;
    expect(previousFire(w!.match, false, sun0200 + 5 * 60_000, 10 * 60_000)).toBe(sun0200);
    expect(previousFire(w!.match, false, sun0200 + 5 * 60_000, 5 * 60_000)).toBeUndefined();
  });

  it('rejects an invalid timezone or expression', () => {
    expect(() =>
      compileWindows([{ region: 'r1', cron: '0 2 * * 0', duration: H, timezone: 'Mars/Olympus' }]),
    ).toThrow();
    expect(() => compileWindows([{ region: 'r1', cron: '0 25 * * 0', duration: H }])).toThrow(
      /not a valid cron/,
    );
  });
});

describe('scheduleMaintenance', () => {
  it('a restart in the middle of a window drains at once, then undrains when it ends', async () => {
    const clock = new FakeClock(sun0200 + 45 * 60_000);
    const cron = manualCron();
    const changes: MaintenanceChange[] = [];
    const m = scheduleMaintenance(windows, clock, (c) => changes.push(c), { cron: cron.factory });
    expect(changes).toEqual([
      expect.objectContaining({ region: 'r3', active: true, until: sun0200 + 2 * H }),
    ]);
    expect(changes[0]?.reason).toContain('"0 2 * * 0" for 2h opened at 2026-11-29T02:00:00.000Z');
    expect(m.active()).toEqual(['r3']);
    clock.advance(75 * 60_000 - 1);
    expect(changes).toHaveLength(1);
    clock.advance(1);
    expect(changes[1]).toEqual({ region: 'r3', active: false, reason: 'maintenance window ended' });
    expect(m.active()).toEqual([]);
    await m.stop();
    expect(cron.stopped).toBe(2);
  });

  it('a window starting now (cron fire) drains the region; nothing happens outside windows', async () => {
    const clock = new FakeClock(sun0200 - 60_000);
    const cron = manualCron();
    const changes: MaintenanceChange[] = [];
    const m = scheduleMaintenance(windows, clock, (c) => changes.push(c), { cron: cron.factory });
    expect(changes).toEqual([]);
    clock.advance(60_000 - 5);
    // node-cron may call back a hair early: the planned fire time is what counts.
    cron.fire(0, sun0200);
    expect(changes).toEqual([expect.objectContaining({ region: 'r3', active: true })]);
    cron.fire(0, sun0200); // a duplicate fire changes nothing
    expect(changes).toHaveLength(1);
    clock.advance(2 * H);
    expect(changes.map((c) => c.active)).toEqual([true]);
    clock.advance(5);
    expect(changes.map((c) => c.active)).toEqual([true, false]);
    await m.stop();
  });

  it('after stop, nothing more is emitted', async () => {
    const clock = new FakeClock(sun0200 + 60_000);
    const changes: MaintenanceChange[] = [];
    const m = scheduleMaintenance(windows, clock, (c) => changes.push(c), { cron: manualCron().factory });
    await m.stop();
    clock.advance(3 * H);
    expect(changes).toHaveLength(1);
  });

  it('an invalid window is a CONFIG_INVALID error', () => {
    expect(() =>
      scheduleMaintenance([{ region: 'r1', cron: 'nope', duration: H }], new FakeClock(0)),
    ).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('works with real node-cron triggers (registered and destroyed)', async () => {
    const m = scheduleMaintenance(windows);
    await m.stop();
  });
});
