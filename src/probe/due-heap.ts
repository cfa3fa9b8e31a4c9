import { SwitchyardError } from '../util/errors.js';

/** A place in a `DueHeap`: allocated once per target and reused for every run. */
export interface DueNode<T> {
  /** Monotonic time at which it falls due. */
  at: number;
  /** Position in the heap; -1 while not in it. */
  index: number;
  readonly item: T;
}

export function dueNode<T>(item: T): DueNode<T> {
  return { at: 0, index: -1, item };
}

/**
 * A binary min-heap of nodes by due time: push, pop and remove in O(log n), peek in O(1), no
 * allocation once the array has grown. The scheduler keeps one for planned starts and one for
 * deadlines and arms a single timer for the earliest of both, instead of two timers per run.
 */
export class DueHeap<T> {
  private readonly nodes: DueNode<T>[] = [];

  get size(): number {
    return this.nodes.length;
  }

  /** Due time of the earliest node; Infinity when empty. */
  peekAt(): number {
    return this.nodes.length > 0 ? (this.nodes[0] as DueNode<T>).at : Number.POSITIVE_INFINITY;
  }

  peek(): DueNode<T> | undefined {
    return this.nodes[0];
  }

  push(n: DueNode<T>): void {
    if (n.index >= 0) throw new SwitchyardError('INTERNAL', 'a probe target was scheduled twice');
    n.index = this.nodes.length;
    this.nodes.push(n);
    this.up(n.index);
  }

  pop(): DueNode<T> | undefined {
    const top = this.nodes[0];
    if (top) this.removeAt(0);
    return top;
  }

  /** Removes `n` if it is in this heap. */
  remove(n: DueNode<T>): void {
    if (n.index >= 0 && this.nodes[n.index] === n) this.removeAt(n.index);
  }

  clear(): void {
    for (const n of this.nodes) n.index = -1;
    this.nodes.length = 0;
  }

  private removeAt(i: number): void {
    const nodes = this.nodes;
    const gone = nodes[i] as DueNode<T>;
    const last = nodes.pop() as DueNode<T>;
    gone.index = -1;
    if (last === gone) return;
    nodes[i] = last;
    last.index = i;
    this.up(i);
    this.down(last.index);
  }

  private up(i: number): void {
    const nodes = this.nodes;
    const n = nodes[i] as DueNode<T>;
    while (i > 0) {
      const pi = (i - 1) >> 1;
      const parent = nodes[pi] as DueNode<T>;
      if (parent.at <= n.at) break;
      nodes[i] = parent;
      parent.index = i;
      i = pi;
    }
    nodes[i] = n;
    n.index = i;
  }

  private down(i: number): void {
    const nodes = this.nodes;
    const len = nodes.length;
    const n = nodes[i] as DueNode<T>;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= len) break;
      const r = l + 1;
      let c = l;
      if (r < len && (nodes[r] as DueNode<T>).at < (nodes[l] as DueNode<T>).at) c = r;
      const child = nodes[c] as DueNode<T>;
      if (child.at >= n.at) break;
      nodes[i] = child;
      child.index = i;
      i = c;
    }
    nodes[i] = n;
    n.index = i;
  }
}
