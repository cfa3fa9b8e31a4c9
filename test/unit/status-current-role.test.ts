import { describe, expect, it } from 'vitest';
import { currentRoleOf } from '../../src/daemon/status-document.js';
import type { DatabaseHealth, Demotion } from '../../src/decide/types.js';
import type { Region } from '../../src/topology/types.js';

/**
 * `currentRoleOf`: what `switchyard status`, /v1/status and the page call a region now — from its
 * databases' own reports, the persisted demotion and the current main (issue 9, item 5).
 */
const region = (id: string, role: Region['role'], databases = ['apim', 'shared']): Region => ({
  id,
  role,
  hasGateway: true,
  hasKeyManager: role !== 'edge',
  databases: role === 'edge' ? [] : databases,
  fallback: { kind: 'preference', order: [] },
  fallbackConfigured: false,
});
const r1 = region('r1', 'main');
const r2 = region('r2', 'failover');
const r3 = region('r3', 'edge');

const db = (d: Partial<DatabaseHealth>): DatabaseHealth => ({ status: 'up', since: 0, ...d });
const replica = db({ role: 'replica', writable: false, streaming: true });
const writable = db({ role: 'primary', writable: true });
const readOnly = db({ role: 'primary', writable: false });
const down = db({ status: 'down' });
const demotion = (reason: Demotion['reason'], fenced: boolean): Demotion => ({
  reason,
  fenced,
  since: 0,
  epoch: 1,
  detail: `r2: recorded as ${reason}`,
});

describe('currentRoleOf', () => {
  it('the main is main and an edge is edge, whatever their databases or the configured roles say', () => {
    expect(currentRoleOf(r2, 'r2', { apim: readOnly })).toEqual({ role: 'main' });
    expect(currentRoleOf(r1, 'r1', {})).toEqual({ role: 'main' });
    expect(currentRoleOf(r3, 'r1', {})).toEqual({ role: 'edge' });
  });

  it('every database a replica: replica; nothing reported yet on a failover region: replica, saying so', () => {
    expect(currentRoleOf(r2, 'r1', { apim: replica, shared: replica })).toEqual({ role: 'replica' });
    expect(currentRoleOf(r2, 'r1', {})).toEqual({
      role: 'replica',
      detail: 'databases not reporting a role yet',
    });
  });

  it('a database writable outside the main is a split-brain, naming it and the main', () => {
    const r = currentRoleOf(r2, 'r1', { apim: writable, shared: replica });
    expect(r.role).toBe('split-brain');
    expect(r.detail).toBe('apim writable outside the main (r1); being fenced');
  });

  it('an old main that comes back writable is a split-brain, not a "fenced old main"', () => {
    const r = currentRoleOf(r1, 'r2', { apim: writable, shared: writable }, demotion('old-main', true));
    expect(r.role).toBe('split-brain');
    expect(r.detail).toBe(
      'apim, shared writable outside the main (r2): the old main came back writable; being fenced',
    );
  });

  it('a split-brain whose fence has not completed stays split-brain while its databases are silent', () => {
    const r = currentRoleOf(r2, 'r1', { apim: down, shared: down }, demotion('split-brain', false));
    expect(r.role).toBe('split-brain');
    expect(r.detail).toMatch(/^its fence has not completed .*: r2: recorded as split-brain$/);
  });

  it('a split-brain once fenced is detached: read-only, not replicating, awaiting its rebuild', () => {
    const r = currentRoleOf(r2, 'r1', { apim: readOnly, shared: readOnly }, demotion('split-brain', true));
    expect(r).toEqual({
      role: 'detached',
      detail:
        'fenced after a split-brain: databases read-only, not replicating from r1; rebuild it as a replica of r1, then it serves auth again',
    });
  });

  it('a detached demotion is detached, never called an old main; its detail names the databases as before it was recorded', () => {
    const recorded = currentRoleOf(r2, 'r1', { apim: readOnly, shared: replica }, demotion('detached', true));
    expect(recorded.role).toBe('detached');
    // The status must not reword itself a cycle later, when the engine records the demotion.
    expect(recorded).toEqual(currentRoleOf(r2, 'r1', { apim: readOnly, shared: replica }));
    expect(recorded.detail).toBe(
      'apim read-only but not replicating from r1; rebuild it as a replica of r1, then it serves auth again',
    );
    // After a restart the samples are unknown: the recorded demotion alone still says why.
    expect(currentRoleOf(r2, 'r1', { apim: down }, demotion('detached', true)).detail).toBe(
      'databases are read-only primaries that do not replicate from r1; rebuild it as a replica of r1, then it serves auth again',
    );
  });

  it('a read-only primary with no demotion recorded yet: detached on a failover region, old main on the configured main', () => {
    expect(currentRoleOf(r2, 'r1', { apim: readOnly, shared: replica })).toEqual({
      role: 'detached',
      detail:
        'apim read-only but not replicating from r1; rebuild it as a replica of r1, then it serves auth again',
    });
    expect(currentRoleOf(r1, 'r2', { apim: readOnly, shared: readOnly }).role).toBe('fenced-old-main');
  });

  it('the old main: fenced, or NOT fenced while its databases are unreachable', () => {
    expect(currentRoleOf(r1, 'r2', { apim: readOnly }, demotion('old-main', true))).toEqual({
      role: 'fenced-old-main',
      detail: 'databases read-only (fenced); rebuild it as a replica of r2, then fail back with a switchover',
    });
    const unfenced = currentRoleOf(r1, 'r2', { apim: down }, demotion('old-main', false));
    expect(unfenced.role).toBe('fenced-old-main');
    expect(unfenced.detail).toMatch(/^NOT fenced/);
    expect(currentRoleOf(r1, 'r2', {}).detail).toMatch(/^databases unreachable or not reporting/);
  });

  it('a rebuilt region (demotion lifted, every database a replica) is a replica again', () => {
    expect(currentRoleOf(r1, 'r2', { apim: replica, shared: replica })).toEqual({ role: 'replica' });
  });
});
