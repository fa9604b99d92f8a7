/**
 * A binary min-heap ordered by a comparator. O(log n) push/pop, O(1) peek.
 * Used by the simulated clock's timer queue, the task queue and the simulators.
 */
export class BinaryHeap<T> {
  private readonly items: T[] = [];

  /** @param less strict "a comes before b" ordering. Ties keep no particular order. */
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  /** Number of items. */
  get size(): number {
    return this.items.length;
  }

  /** The first item, without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Add an item. */
  push(item: T): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p] as T;
      if (!this.less(item, parent)) break;
      a[i] = parent;
      i = p;
    }
    a[i] = item;
  }

  /** Remove and return the first item. */
  pop(): T | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0] as T;
    const last = a.pop() as T;
    if (a.length > 0) {
      const n = a.length;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n && this.less(a[r] as T, a[l] as T)) c = r;
        if (!this.less(a[c] as T, last)) break;
        a[i] = a[c] as T;
        i = c;
      }
      a[i] = last;
    }
    return top;
  }

  /** Remove every item. */
  clear(): void {
    this.items.length = 0;
  }

  /** Items in heap (not sorted) order; for inspection and tests. */
  toArray(): readonly T[] {
    return this.items;
  }
}
