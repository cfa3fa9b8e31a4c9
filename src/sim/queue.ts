/**
 * The kernel's event queue: a binary min-heap ordered by virtual time, then by the sequence
 * number given at scheduling. Two events at the same instant run in the order they were
 * scheduled, on every run, so a seed replays exactly. Cancellation is lazy (a flag): the heap
 * never searches, and a cancelled event is dropped when it reaches the top.
 */
export interface QueuedEvent {
  at: number;
  seq: number;
  /** Who runs it: 0 is the world; instances have their own ids (paused and killed per owner). */
  owner: number;
  fn: () => void;
  cancelled: boolean;
  /** Whether promise chains must settle after it (false for world events that resolve nothing). */
  settle: boolean;
}

export class EventQueue {
  private heap: QueuedEvent[] = [];
  private live = 0;

  get size(): number {
    return this.live;
  }

  push(e: QueuedEvent): void {
    const h = this.heap;
    h.push(e);
    if (!e.cancelled) this.live++;
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p] as QueuedEvent;
      if (!before(e, parent)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = e;
  }

  /** The earliest live event, without removing it. */
  peek(): QueuedEvent | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  pop(): QueuedEvent | undefined {
    this.dropCancelled();
    const top = this.removeTop();
    if (top) {
      this.live--;
      // Consumed: a later clearTimeout of a timer that already fired must not count it again.
      top.cancelled = true;
    }
    return top;
  }

  cancel(e: QueuedEvent): void {
    if (e.cancelled) return;
    e.cancelled = true;
    this.live--;
  }

  /** Every live event (unordered), e.g. to cancel an owner's events when it crashes. */
  *events(): IterableIterator<QueuedEvent> {
    for (const e of this.heap) if (!e.cancelled) yield e;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && (this.heap[0] as QueuedEvent).cancelled) this.removeTop();
  }

  private removeTop(): QueuedEvent | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r] as QueuedEvent, h[l] as QueuedEvent) ? r : l;
        if (!before(h[c] as QueuedEvent, last)) break;
        h[i] = h[c] as QueuedEvent;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
