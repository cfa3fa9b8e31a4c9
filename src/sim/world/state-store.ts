import type { PersistedState, StateStore } from '../../state/types.js';
import { SwitchyardError } from '../../util/errors.js';
import type { SimClock } from '../clock.js';
import { Effects } from './effects.js';

export interface DiskEffect {
  /** Every save fails (ENOSPC). */
  full?: boolean;
  /** Added latency of a save (a slow disk), ms. */
  slowMs?: number;
}

export interface SaveRecord {
  at: number;
  epoch: number;
  main: string;
  ok: boolean;
  detail?: string;
}

/**
 * One instance's disk: what survives a crash of the process. A save is atomic as the file store
 * makes it (temporary file, fsync, rename): the new state is durable at the rename, halfway
 * through the save, and the caller hears of it after the rest (the directory fsync). A crash
 * in between leaves the new state on disk although the caller never learned it was saved.
 */
export class SimDisk {
  state: PersistedState | null = null;
  readonly effects = new Effects<DiskEffect>();
  readonly saves: SaveRecord[] = [];
  /** Saves started while another was still in flight (the StateStore contract forbids it). */
  overlaps = 0;
  /** Called at the rename of each save: the round-2 harness crashes an instance there. */
  onDurable?: (state: PersistedState) => void;

  constructor(readonly owner: string) {}

  get full(): boolean {
    for (const e of this.effects.values()) if (e.full) return true;
    return false;
  }

  get slowMs(): number {
    let ms = 0;
    for (const e of this.effects.values()) ms = Math.max(ms, e.slowMs ?? 0);
    return ms;
  }
}

export class SimStateStore implements StateStore {
  private inFlight = 0;

  constructor(
    private readonly disk: SimDisk,
    private readonly clock: SimClock,
    private readonly now: () => number,
  ) {}

  load(): Promise<PersistedState | null> {
    return new Promise((resolve) =>
      this.clock.setTimeout(() => resolve(this.disk.state ? structuredClone(this.disk.state) : null), 1),
    );
  }

  save(state: PersistedState): Promise<void> {
    const disk = this.disk;
    if (this.inFlight > 0) disk.overlaps++;
    this.inFlight++;
    const copy = structuredClone(state);
    const half = 1 + disk.slowMs / 2;
    return new Promise<void>((resolve, reject) => {
      // Both halves run on the instance's clock: a crash before the rename leaves the old state.
      this.clock.setTimeout(() => {
        if (disk.full) {
          disk.saves.push({
            at: this.now(),
            epoch: copy.engine.epoch,
            main: copy.engine.main,
            ok: false,
            detail: 'ENOSPC',
          });
          this.clock.setTimeout(() => {
            this.inFlight--;
            reject(
              new SwitchyardError(
                'STATE_UNWRITABLE',
                `state file ${disk.owner}: ENOSPC: no space left on device (simulated)`,
              ),
            );
          }, half);
          return;
        }
        disk.state = copy;
        disk.saves.push({ at: this.now(), epoch: copy.engine.epoch, main: copy.engine.main, ok: true });
        disk.onDurable?.(copy);
        this.clock.setTimeout(() => {
          this.inFlight--;
          resolve();
        }, half);
      }, half);
    });
  }
}
