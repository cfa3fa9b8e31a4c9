import { describe, expect, it } from 'vitest';
import {
  colourEnabled,
  formatAge,
  formatBytes,
  painter,
  renderTable,
  stripAnsi,
} from '../../src/cli/output.js';
import { statusText } from '../../src/cli/status-format.js';
import { stubStatus } from '../support/stub-daemon.js';

describe('CLI output helpers', () => {
  it('aligns columns, ignoring colour codes, and trims trailing spaces', () => {
    const paint = painter(true);
    const text = renderTable(
      ['a', 'bb', 'c'],
      [
        [paint('up', 'green'), 'x', ''],
        ['down', 'yy', 'z'],
      ],
    );
    const plain = stripAnsi(text);
    expect(plain).not.toBe(text);
    expect(plain).toBe('a     bb  c\n----  --  -\nup    x\ndown  yy  z\n');
  });

  it('colours only a terminal, never with NO_COLOR or TERM=dumb', () => {
    expect(colourEnabled({ isTTY: true }, {})).toBe(true);
    expect(colourEnabled({ isTTY: false }, {})).toBe(false);
    expect(colourEnabled({}, {})).toBe(false);
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colourEnabled({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(painter(false)('x', 'red')).toBe('x');
  });

  it('formats ages and sizes compactly', () => {
    expect([formatAge(5_000), formatAge(300_000), formatAge(12_000_000), formatAge(200_000_000)]).toEqual([
      '5s',
      '5m',
      '3h20m',
      '2d7h',
    ]);
    expect([formatBytes(512), formatBytes(2048), formatBytes(16 * 1024 * 1024)]).toEqual([
      '512 B',
      '2.0 KiB',
      '16.0 MiB',
    ]);
  });

  it('status text shows overrides, alerts, a failing DNS and a pending promotion', () => {
    const doc = stubStatus({ drained: ['r3'], frozen: true, routes: { 'api.r4.example.com/A': 'r1' } });
    doc.dns = { ...doc.dns, failing: true, lastError: 'Throttling' };
    doc.promotion = { from: 'r1', to: 'r2', epoch: 2, startedAt: '2026-11-26T03:29:00.000Z', force: false };
    const text = statusText(doc);
    expect(text).toContain('overrides: FROZEN; drained: r3; forced routes: api.r4.example.com/A→r1');
    expect(text).toContain('promotion in progress: r1 → r2, epoch 2, started 1m ago');
    expect(text).toMatch(/r3\s+edge\s+edge\s+up 30m\s+-\s+-\s+-\s+yes\s+no\s+no\s+drained/);
    expect(text).toContain('[frozen] director: traffic changes are frozen');
    expect(text).toContain('FAILING: Throttling');
  });
});
