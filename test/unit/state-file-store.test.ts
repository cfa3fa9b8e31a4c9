import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStateStore } from '../../src/state/file-store.js';
import { appendJournal, unfinishedIntents } from '../../src/state/journal.js';
import { MemoryStateStore } from '../../src/state/memory-store.js';
import { JOURNAL_LIMIT, type PersistedState } from '../../src/state/types.js';
import { isSwitchyardError, type SwitchyardError } from '../../src/util/errors.js';
import { ROOT } from '../support/engine.js';

function sample(epoch = 1): PersistedState {
  return {
    version: 1,
    engine: { epoch, main: 'r1', out: { r3: ['api'] }, weights: { 'api.example.com/A': { r1: 100, r2: 0 } } },
    overrides: { drained: ['r4'], frozen: false, routes: {} },
    journal: [
      { id: 'a1', epoch, action: 'promote', target: 'r2', phase: 'intent', at: 1000, detail: 'test' },
    ],
  };
}

async function rejection(p: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await p;
  } catch (e) {
    if (isSwitchyardError(e)) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'switchyard-state-'));
  path = join(dir, 'state.json');
});
afterEach(async () => {
  await chmod(dir, 0o700).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('FileStateStore', () => {
  it('returns null only when no state file exists', async () => {
    expect(await new FileStateStore(path).load()).toBeNull();
  });

  it('round-trips state and creates the directory', async () => {
    const nested = join(dir, 'var', 'state.json');
    const store = new FileStateStore(nested);
    await store.save(sample(7));
    expect(await store.load()).toEqual(sample(7));
    expect(await new FileStateStore(nested).load()).toEqual(sample(7));
  });

  it('leaves no temporary file behind after a save', async () => {
    const store = new FileStateStore(path);
    await store.save(sample());
    expect(await readdir(dir)).toEqual(['state.json']);
  });

  it('ignores a temporary file left by a crash mid-save: the last complete state wins', async () => {
    const store = new FileStateStore(path);
    await store.save(sample(3));
    // A crash between write and rename leaves a torn temp file beside the real one.
    await writeFile(join(dir, `.state.json.${process.pid}.99.tmp`), '{"version":1,"engine":{"ep');
    expect(await new FileStateStore(path).load()).toEqual(sample(3));
    // And the next save still replaces the state atomically.
    await store.save(sample(4));
    expect(await new FileStateStore(path).load()).toEqual(sample(4));
  });

  it('a crash before the first rename means no state yet, not corrupt state', async () => {
    await writeFile(join(dir, `.state.json.${process.pid}.1.tmp`), '{"vers');
    expect(await new FileStateStore(path).load()).toBeNull();
  });

  it('refuses bad JSON with STATE_CORRUPT naming the file', async () => {
    await writeFile(path, '{"version": 1, "engine": ');
    const e = await rejection(new FileStateStore(path).load());
    expect(e.code).toBe('STATE_CORRUPT');
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/not valid JSON/);
  });

  it('refuses an empty file with STATE_CORRUPT', async () => {
    await writeFile(path, '');
    const e = await rejection(new FileStateStore(path).load());
    expect(e.code).toBe('STATE_CORRUPT');
    expect(e.message).toMatch(/empty/);
  });

  it('refuses the wrong shape with STATE_CORRUPT naming the field', async () => {
    const bad = { ...sample(), engine: { ...sample().engine, epoch: 'seven' } };
    await writeFile(path, JSON.stringify(bad));
    const e = await rejection(new FileStateStore(path).load());
    expect(e.code).toBe('STATE_CORRUPT');
    expect(e.message).toContain(path);
    expect(e.message).toContain('engine.epoch');
  });

  it('refuses JSON that is not an object with STATE_CORRUPT', async () => {
    await writeFile(path, '[]');
    const e = await rejection(new FileStateStore(path).load());
    expect(e.code).toBe('STATE_CORRUPT');
  });

  it('refuses another version with STATE_CORRUPT saying which', async () => {
    await writeFile(path, JSON.stringify({ ...sample(), version: 2 }));
    const e = await rejection(new FileStateStore(path).load());
    expect(e.code).toBe('STATE_CORRUPT');
    expect(e.message).toMatch(/version 2; this switchyard reads version 1/);
  });

  it('reports a directory at the state path as STATE_UNREADABLE (EISDIR)', async () => {
    await mkdir(path);
    const e = await rejection(new FileStateStore(path).load());
    expect(e.code).toBe('STATE_UNREADABLE');
    expect(e.message).toContain(path);
    expect(e.message).toContain('EISDIR');
  });

  it('reports EACCES as STATE_UNREADABLE with a hint', async () => {
    const denied = Object.assign(new Error('permission denied'), { code: 'EACCES' });
    const store = new FileStateStore(path, async () => {
      throw denied;
    });
    const e = await rejection(store.load());
    expect(e.code).toBe('STATE_UNREADABLE');
    expect(e.message).toContain(path);
    expect(e.message).toMatch(/EACCES.*permission denied/);
  });

  it('reports a real unreadable file (mode 000) as STATE_UNREADABLE', async () => {
    await writeFile(path, JSON.stringify(sample()));
    await chmod(path, 0o000);
    if (process.getuid?.() !== 0) {
      const e = await rejection(new FileStateStore(path).load());
      expect(e.code).toBe('STATE_UNREADABLE');
      return;
    }
    // root reads anything: load it as an unprivileged user instead, in a child process.
    await chmod(dir, 0o755);
    const script = `import { FileStateStore } from ${JSON.stringify(resolve(ROOT, 'src/state/file-store.ts'))};
      new FileStateStore(${JSON.stringify(path)}).load().then(() => console.log('LOADED'), (e) => console.log(e.code, e.message));`;
    const r = spawnSync(
      'runuser',
      ['-u', 'nobody', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(r.stdout).toMatch(/^STATE_UNREADABLE .*EACCES/m);
  });

  it('reports a failed save as STATE_UNWRITABLE and keeps the old state', async () => {
    const store = new FileStateStore(path);
    await store.save(sample(1));
    // Make the target unreplaceable: a rename over a non-empty directory fails.
    const blocked = new FileStateStore(join(dir, 'blocked'));
    await mkdir(join(dir, 'blocked', 'x'), { recursive: true });
    const e = await rejection(blocked.save(sample(2)));
    expect(e.code).toBe('STATE_UNWRITABLE');
    expect(await readdir(dir)).toEqual(expect.not.arrayContaining([expect.stringMatching(/\.tmp$/)]));
    // The store keeps working after a failure.
    await store.save(sample(5));
    expect((await store.load())?.engine.epoch).toBe(5);
  });

  it('serialises concurrent saves: the file always holds one complete state and the last wins', async () => {
    const store = new FileStateStore(path);
    const big = (n: number): PersistedState => ({
      ...sample(n),
      engine: {
        ...sample(n).engine,
        weights: Object.fromEntries(
          Array.from({ length: 200 }, (_, i) => [`r${i}.example.com/A`, { r1: n }]),
        ),
      },
    });
    const order: number[] = [];
    const saves = Array.from({ length: 20 }, (_, i) => store.save(big(i + 1)).then(() => order.push(i + 1)));
    // While saves are in flight, every read sees a complete, valid state.
    for (let k = 0; k < 10; k++) {
      const seen = await new FileStateStore(path).load();
      if (seen) expect(seen.version).toBe(1);
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(saves);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect((await store.load())?.engine.epoch).toBe(20);
    expect(JSON.parse(await readFile(path, 'utf8')).engine.epoch).toBe(20);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('journal', () => {
  it('keeps the last JOURNAL_LIMIT entries', () => {
    let s = { ...sample(), journal: [] } as PersistedState;
    for (let i = 0; i < JOURNAL_LIMIT + 10; i++)
      s = appendJournal(s, {
        id: `e${i}`,
        epoch: 1,
        action: 'dns',
        target: 'r1',
        phase: 'done',
        at: i,
        detail: '',
      });
    expect(s.journal).toHaveLength(JOURNAL_LIMIT);
    expect(s.journal[0]?.id).toBe('e10');
  });

  it('finds intents with no outcome', () => {
    const base = { epoch: 1, action: 'promote' as const, target: 'r2', at: 0, detail: '' };
    const open = unfinishedIntents([
      { ...base, id: 'a', phase: 'intent' },
      { ...base, id: 'a', phase: 'done' },
      { ...base, id: 'b', phase: 'intent' },
      { ...base, id: 'c', phase: 'intent' },
      { ...base, id: 'c', phase: 'abandoned' },
    ]);
    expect(open.map((e) => e.id)).toEqual(['b']);
  });
});

describe('MemoryStateStore', () => {
  it('hands out copies', async () => {
    const store = new MemoryStateStore();
    expect(await store.load()).toBeNull();
    const s = sample();
    await store.save(s);
    s.engine.epoch = 99;
    expect((await store.load())?.engine.epoch).toBe(1);
  });
});

describe('FileStateStore refuses to write what it could not read back', () => {
  it('rejects NaN weights (JSON would turn them into null) and keeps the old file', async () => {
    const store = new FileStateStore(path);
    await store.save(sample(1));
    const bad = sample(2);
    bad.engine.weights = { 'x/A': { r1: Number.NaN } };
    const e = await rejection(store.save(bad));
    expect(e.code).toBe('STATE_CORRUPT');
    expect(e.message).toMatch(/refusing to write invalid state/);
    expect((await store.load())?.engine.epoch).toBe(1);
  });
});

describe('createStateStore / freshState', () => {
  it('builds a file store from config and a loadable fresh state', async () => {
    const { createStateStore, freshState } = await import('../../src/state/create.js');
    const store = createStateStore({ store: 'file', path });
    expect(store).toBeInstanceOf(FileStateStore);
    const s = freshState({ epoch: 0, main: 'r1', out: {}, weights: {} });
    await store.save(s);
    expect(await store.load()).toEqual(s);
    expect(() =>
      createStateStore({
        store: 'etcd',
        path,
        etcd: { endpoints: ['x'], prefix: '/', leaseTtl: 10_000, callTimeout: 2_000 },
      }),
    ).toThrow(/not available/);
  });
});
