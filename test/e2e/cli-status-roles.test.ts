import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import type { StatusDocument } from '../../src/server/status.js';
import { type DemoDaemon, startDemoAllUp, until } from '../support/demo-daemon.js';
import { runCliInProcess as cli } from '../support/run-cli.js';

/**
 * `switchyard status` names a region's current role right when it is neither main nor replica:
 * a split-brain (a database writable outside the main) and a detached region (a read-only
 * primary that does not replicate from the main), through the real CLI against the real daemon
 * on the demo's world (issue 9, item 5).
 */
let d: DemoDaemon;
beforeAll(async () => {
  d = await startDemoAllUp();
}, 30_000);
afterAll(async () => {
  await d?.stop();
});

const region = (s: StatusDocument, id: string) => s.regions.find((r) => r.id === id);

async function statusJson(): Promise<StatusDocument> {
  const r = await cli(['status', '--json'], { env: d.env(null) });
  expect(r.code).toBe(EXIT.OK);
  return JSON.parse(r.stdout) as StatusDocument;
}

async function rebuildR2(): Promise<void> {
  expect(d.world.rebuild('r2')).toEqual({ ok: true });
  await until(async () => region(await d.status(), 'r2')?.currentRole === 'replica', 15_000, 'r2 a replica');
}

describe('status: current roles beyond main and replica', () => {
  it('a read-only primary in the failover region: detached, awaiting rebuild, kept from auth', async () => {
    const db = d.world.database('r2', 'shared');
    db.role = 'primary';
    db.writable = false;
    try {
      await until(
        async () => region(await d.status(), 'r2')?.currentRole === 'detached',
        10_000,
        'r2 detached',
      );
      const r2 = region(await statusJson(), 'r2');
      expect(r2).toMatchObject({ configuredRole: 'failover', currentRole: 'detached', isMain: false });
      expect(r2?.currentRoleDetail).toBe(
        'shared read-only but not replicating from r1; rebuild it as a replica of r1, then it serves auth again',
      );
      await until(
        async () => region(await d.status(), 'r2')?.serving.auth === false,
        10_000,
        'auth away from r2',
      );
      const text = (await cli(['status'], { env: d.env(null) })).stdout;
      expect(text).toMatch(/^r2\s+failover\s+detached\s+.*\bno\s+no\s+awaiting rebuild$/m);
      expect(text).toContain('  r2: shared read-only but not replicating from r1');
      expect(text).not.toMatch(/^r2\s+failover\s+replica/m);
    } finally {
      await rebuildR2();
    }
  });

  it('a database writable outside the main: a split-brain, fenced at once, then detached until rebuilt', async () => {
    const db = d.world.database('r2', 'apim');
    db.role = 'primary';
    db.writable = true;
    try {
      // The first probe that sees it writable fences it (rule 7); what is left is a read-only
      // primary that does not replicate: detached, and the status says it came from a split-brain.
      await until(() => !db.writable, 10_000, 'r2/apim fenced');
      await until(
        async () => region(await d.status(), 'r2')?.currentRole === 'detached',
        10_000,
        'r2 detached',
      );
      const s = await statusJson();
      expect(region(s, 'r2')?.currentRoleDetail).toBe(
        'fenced after a split-brain: databases read-only, not replicating from r1; rebuild it as a replica of r1, then it serves auth again',
      );
      expect(s.main).toBe('r1');
      expect(s.journal.some((e) => e.action === 'fence' && e.target === 'r2')).toBe(true);
      const text = (await cli(['status'], { env: d.env(null) })).stdout;
      expect(text).toMatch(/^r2\s+failover\s+detached\s+.*awaiting rebuild$/m);
      expect(text).toContain('  r2: fenced after a split-brain');
      expect(d.events()).toContainEqual(
        expect.objectContaining({
          reasons: expect.arrayContaining([expect.stringContaining('(split-brain)')]),
        }),
      );
    } finally {
      await rebuildR2();
    }
    expect(region(await d.status(), 'r2')?.currentRoleDetail).toBeUndefined();
  });
});
