import { describe, expect, it } from 'vitest';
import { createHttpProbe } from '../../src/probe/http.js';
import { ProbeScheduler } from '../../src/probe/scheduler.js';
import type { ProbeResult } from '../../src/probe/types.js';
import { startHttpServer } from '../support/http-fixtures.js';

describe('ProbeScheduler in real time with real HTTP probes', () => {
  it('probes several targets on their interval, reuses connections, and times out the slow one', async () => {
    const server = await startHttpServer((req, res) => {
      if (req.url === '/slow') {
        const t = setTimeout(() => res.end('late'), 1_000);
        res.on('close', () => clearTimeout(t));
      } else res.end('ok');
    });
    const results = new Map<string, ProbeResult[]>();
    const s = new ProbeScheduler({
      onResult: (id, r) => results.set(id, [...(results.get(id) ?? []), r]),
    });
    const base = { method: 'GET' as const, headers: {}, expectStatus: [200] };
    for (const name of ['a', 'b', 'c'])
      s.add({
        id: `r1.gateway.${name}`,
        probe: createHttpProbe(
          { ...base, url: `${server.origin}/health` },
          { timeoutMs: 350, maxBodyBytes: 1_024 },
        ),
        // Room for a loaded 2-core machine: a healthy local answer well inside its timeout.
        intervalMs: 400,
        timeoutMs: 350,
        jitter: 0.1,
      });
    s.add({
      id: 'r1.gateway.slow',
      probe: createHttpProbe(
        { ...base, url: `${server.origin}/slow` },
        { timeoutMs: 5_000, maxBodyBytes: 1_024 },
      ),
      intervalMs: 400,
      timeoutMs: 100,
    });
    s.start();
    await new Promise((resolve) => setTimeout(resolve, 2_200));
    await s.close();
    for (const name of ['a', 'b', 'c']) {
      const rs = results.get(`r1.gateway.${name}`) ?? [];
      expect(rs.length).toBeGreaterThanOrEqual(4);
      expect(rs.length).toBeLessThanOrEqual(7);
      expect(rs.every((r) => r.ok)).toBe(true);
    }
    const slow = results.get('r1.gateway.slow') ?? [];
    expect(slow.length).toBeGreaterThanOrEqual(3);
    expect(slow.every((r) => r.error === 'timeout' && r.latencyMs < 400)).toBe(true);
    const st = s.latenessStats();
    expect(st.count).toBeGreaterThanOrEqual(16);
    expect(st.p50).toBeLessThan(50);
    // The three healthy targets kept one connection each.
    expect(server.connections() - slow.length).toBeLessThanOrEqual(3 + 1);
    await server.close();
  });
});
