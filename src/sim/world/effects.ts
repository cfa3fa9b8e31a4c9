/**
 * Faults overlap: a region outage while one of its gateways is already down, a partition on top
 * of a lossy link. Each fault adds its own effect under its own id and removes exactly that one
 * when it heals, so healing one fault never heals another. The current state is a fold of the
 * active effects.
 */
export class Effects<E> {
  private readonly active = new Map<number, E>();
  /** Bumped on every change, so cheap observers can tell whether anything moved. */
  version = 0;

  add(id: number, effect: E): void {
    this.active.set(id, effect);
    this.version++;
  }

  remove(id: number): boolean {
    const had = this.active.delete(id);
    if (had) this.version++;
    return had;
  }

  get size(): number {
    return this.active.size;
  }

  values(): IterableIterator<E> {
    return this.active.values();
  }
}

/** One `Effects` per key (a target id, a link), created on first use. */
export class EffectMap<E> {
  private readonly byKey = new Map<string, Effects<E>>();

  of(key: string): Effects<E> {
    let e = this.byKey.get(key);
    if (!e) {
      e = new Effects<E>();
      this.byKey.set(key, e);
    }
    return e;
  }

  /** Keys with at least one active effect. */
  activeKeys(): string[] {
    return [...this.byKey].filter(([, e]) => e.size > 0).map(([k]) => k);
  }
}
