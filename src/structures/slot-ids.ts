/**
 * Small integers for child actor ids, each given back when its actor is gone and handed out again,
 * so every id ever used is in 1…peak (the most slots held at once).
 *
 * Why: a child actor that reaches its final state sends its parent `xstate.done.actor.<its id>`, and
 * XState (5.x) memoizes the transitions it looked up per event type on every state node it searched,
 * in a cache that is never pruned. With a fresh id per waiting acquire, per allocation and per agent,
 * every one of them left ~0.7 KB on the pool machine's state nodes for good: 100,000 waiting acquires
 * grew the heap by 65 MB (measured), and the growing cache slowed every later lookup. Recycled ids
 * bound that cache by the peak number of live children instead of their total.
 */
export class SlotIds {
  /** Slots given back, reused last-in first-out. */
  private readonly free: number[] = [];
  private next = 1;

  /** Slots handed out and not given back. */
  get inUse(): number {
    return this.next - 1 - this.free.length;
  }

  /** Every slot handed out so far is in 1…this. */
  get highest(): number {
    return this.next - 1;
  }

  /** A free slot (≥ 1): one given back, else a new one. */
  take(): number {
    return this.free.pop() ?? this.next++;
  }

  /** Give `slot` back (it must have come from {@link take} and not been given back already). */
  give(slot: number): void {
    this.free.push(slot);
  }
}

/**
 * Actor ids of one kind of child (`<prefix><slot>`), held per owner key (an agent, an allocation id,
 * a waiter) and given back by key. The give-back waits a microtask: it is called from the child's own
 * final-state transition, and the id must not be reused before that transition is over.
 */
export class ChildIds<K> {
  private readonly slots = new SlotIds();
  private readonly held = new Map<K, number>();

  constructor(private readonly prefix: string) {}

  /** A fresh id for `key`'s actor. */
  take(key: K): string {
    const slot = this.slots.take();
    this.held.set(key, slot);
    return `${this.prefix}${slot}`;
  }

  /** `key`'s actor is finished: its id is reusable once the current transition is over (idempotent). */
  release(key: K): void {
    const slot = this.held.get(key);
    if (slot === undefined) return;
    this.held.delete(key);
    queueMicrotask(() => this.slots.give(slot));
  }
}
