/**
 * An insertion-ordered set with O(1) `add`, `delete`, `has` and `first` whatever the churn.
 *
 * Why not a `Set`: a pool's free index is a FIFO (the agent idle longest is handed out first), so it
 * deletes from the front and adds at the back all the time. V8's ordered hash tables mark a deleted
 * entry as a hole and compact only on a rehash, and `set.values().next()` walks every hole from the
 * front to the first live entry. At 10,000 agents that walk was ~10 µs per acquire (p50 of
 * acquire+release 2.7 µs at 1,000 agents, 11 µs at 10,000; bench/acquire.ts). Here the order lives in
 * a doubly linked list and the Map is only ever looked up, never iterated, so holes cost nothing.
 */
interface Node<T> {
  value: T;
  prev: Node<T> | undefined;
  next: Node<T> | undefined;
}

/** A FIFO-ordered set: iteration and {@link first} go from the oldest entry to the newest. */
export class FifoSet<T> implements Iterable<T> {
  private readonly nodes = new Map<T, Node<T>>();
  private head: Node<T> | undefined;
  private tail: Node<T> | undefined;

  /** Entries in the set. */
  get size(): number {
    return this.nodes.size;
  }

  /** Is `value` in the set? */
  has(value: T): boolean {
    return this.nodes.has(value);
  }

  /** Add `value` at the back (a value already in the set keeps its place, like `Set.add`). */
  add(value: T): this {
    if (this.nodes.has(value)) return this;
    const node: Node<T> = { value, prev: this.tail, next: undefined };
    if (this.tail) this.tail.next = node;
    else this.head = node;
    this.tail = node;
    this.nodes.set(value, node);
    return this;
  }

  /** Remove `value`; true if it was in the set. */
  delete(value: T): boolean {
    const node = this.nodes.get(value);
    if (!node) return false;
    this.nodes.delete(value);
    if (node.prev) node.prev.next = node.next;
    else this.head = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.tail = node.prev;
    return true;
  }

  /** The oldest entry, or undefined when empty. */
  first(): T | undefined {
    return this.head?.value;
  }

  /** Remove everything. */
  clear(): void {
    this.nodes.clear();
    this.head = undefined;
    this.tail = undefined;
  }

  /**
   * Oldest to newest. The loop body may delete the entry it is at (its successor was read first), not
   * others: the pool's loops only read.
   */
  *[Symbol.iterator](): Iterator<T> {
    let node = this.head;
    while (node) {
      const next = node.next;
      yield node.value;
      node = next;
    }
  }
}
