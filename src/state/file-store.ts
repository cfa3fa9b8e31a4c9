import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SwitchyardError } from '../util/errors.js';
import { describeIssues, persistedStateSchema } from './schema.js';
import type { PersistedState, StateStore } from './types.js';

/**
 * The embedded state store: one JSON file, replaced atomically. A save writes a temporary file
 * beside the target (same directory, hence same filesystem, so rename is atomic), fsyncs it,
 * renames it over the target and fsyncs the directory so the rename itself survives a power
 * loss. A crash at any point leaves either the old or the new file, never a torn one; a
 * leftover temporary file is never read.
 */
export class FileStateStore implements StateStore {
  readonly path: string;
  private queue: Promise<void> = Promise.resolve();
  private seq = 0;

  private readonly read: (path: string) => Promise<string>;

  /** `readText` is injectable so tests can produce errors (EACCES) that root would not see. */
  constructor(path: string, readText: (path: string) => Promise<string> = (p) => readFile(p, 'utf8')) {
    this.path = path;
    this.read = readText;
  }

  async load(): Promise<PersistedState | null> {
    let text: string;
    try {
      text = await this.read(this.path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // A missing file is the only way to start from scratch.
      if (code === 'ENOENT') return null;
      throw new SwitchyardError(
        'STATE_UNREADABLE',
        `state file ${this.path} cannot be read: ${code ?? String(e)}${hint(code)}`,
        [],
        { cause: e },
      );
    }
    return parseState(this.path, text);
  }

  /** Saves are chained: each waits for the previous one, so two writes never interleave. */
  save(state: PersistedState): Promise<void> {
    // Serialise and check now, before queueing: state that would not load again (NaN turned into
    // null by JSON, a missing field) must fail this save, not the next start.
    const text = `${JSON.stringify(state, null, 2)}\n`;
    try {
      parseState(this.path, text);
    } catch (e) {
      return Promise.reject(
        new SwitchyardError(
          'STATE_CORRUPT',
          `refusing to write invalid state to ${this.path}: ${(e as Error).message}`,
          [],
          {
            cause: e,
          },
        ),
      );
    }
    const run = this.queue.then(() => this.write(text));
    // The chain continues after a failed save; the failure is reported to that save's caller.
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(text: string): Promise<void> {
    const dir = dirname(this.path);
    const tmp = join(dir, `.${basename(this.path)}.${process.pid}.${++this.seq}.tmp`);
    try {
      await mkdir(dir, { recursive: true });
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      await syncDirectory(dir);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      const code = (e as NodeJS.ErrnoException).code;
      throw new SwitchyardError(
        'STATE_UNWRITABLE',
        `state file ${this.path} cannot be written: ${code ?? String(e)}${hint(code)}`,
        [],
        { cause: e },
      );
    }
  }
}

/** Parses and validates state text; throws STATE_CORRUPT naming the file and the problem. */
export function parseState(path: string, text: string): PersistedState {
  return parseStateFrom(`state file ${path}`, text);
}

/** Parses and validates state text read from `where` ("state file …", "etcd key …"). */
export function parseStateFrom(where: string, text: string): PersistedState {
  if (text.trim() === '')
    throw new SwitchyardError('STATE_CORRUPT', `${where} is empty (expected JSON state)`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SwitchyardError('STATE_CORRUPT', `${where} is not valid JSON: ${(e as Error).message}`, [], {
      cause: e,
    });
  }
  if (typeof raw === 'object' && raw !== null && 'version' in raw && raw.version !== 1)
    throw new SwitchyardError(
      'STATE_CORRUPT',
      `${where} has version ${JSON.stringify(raw.version)}; this switchyard reads version 1`,
    );
  const parsed = persistedStateSchema.safeParse(raw);
  if (!parsed.success) {
    const details = describeIssues(parsed.error);
    throw new SwitchyardError(
      'STATE_CORRUPT',
      `${where} is not switchyard state: ${details.slice(0, 3).join('; ')}`,
      details,
    );
  }
  return parsed.data;
}

async function syncDirectory(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch (e) {
    // Some filesystems and platforms refuse fsync on a directory; the rename is still atomic.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw e;
  } finally {
    await fh?.close();
  }
}

function hint(code: string | undefined): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return ' (permission denied: check the owner and mode of the file and its directory)';
    case 'EISDIR':
      return ' (the path is a directory: state.path must name a file)';
    case 'ENOTDIR':
      return ' (a parent of the path is not a directory)';
    case 'ENOSPC':
      return ' (no space left on the device)';
    case 'EROFS':
      return ' (the filesystem is read-only)';
    default:
      return '';
  }
}
