/**
 * The dispatcher's task queue: a priority queue with deadlines, split into one heap per task
 * *class* (a task type, a capability set — whatever decides where a task may run).
 *
 * Order, everywhere: priority (`critical` → `low`), then earlier deadline (no deadline last),
 * then FIFO by submission sequence.
 *
 * Why one heap per class: placement must never let a starved class block the others. With a
 * single heap, finding "the first task some free agent can run" means walking past every task
 * that cannot be placed (O(n)); with one heap per class the dispatcher looks only at the class
 * heads (O(classes · log n), see {@link TaskQueue.popFirstClass}), and skipping a whole class costs
 * one predicate call. {@link TaskQueue.popFirst} still offers an in-order scan with a bound for
 * predicates that differ between tasks of one class.
 *
 * All operations are O(log n) except where noted; nothing uses array splicing. Pure: no clock,
 * `expire(now)` takes the time as an argument.
 *
 * Over 400 lines because it is one structure: a heap per class plus the class index and deadline
 * bookkeeping that must move together on every push, pop and removal.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { knownKeys, record, str } from '../core/validate.js';

/** Task priorities, most urgent first. */
export const PRIORITIES = ['critical', 'high', 'medium', 'low'] as const;

/** A task priority. */
export type Priority = (typeof PRIORITIES)[number];

const RANK: Readonly<Record<Priority, number>> = { critical: 0, high: 1, medium: 2, low: 3 };

/** What {@link TaskQueue.push} takes. */
export interface TaskQueueInput<T> {
  /** Unique id (used by {@link TaskQueue.remove} for cancellation). */
  id: string;
  /** @default 'medium' */
  priority?: Priority;
  /** Absolute time (same unit as the `now` given to {@link TaskQueue.expire}); omit for none. */
  deadline?: number;
  /** The class the task belongs to (type, capability set…). @default the queue's `defaultClass` */
  classKey?: string;
  /** Anything the caller wants to carry along. */
  payload: T;
}

/** A task as held by the queue. Treat as read-only. */
export interface QueuedTask<T> {
  readonly id: string;
  readonly priority: Priority;
  /** `undefined` = no deadline (sorts after every task with one). */
  readonly deadline: number | undefined;
  readonly classKey: string;
  /** Submission sequence number: the FIFO tie-breaker. Strictly increasing per queue. */
  readonly seq: number;
  readonly payload: T;
}

/** Internal node: a task plus its positions in the class heap and the deadline heap. */
interface Node<T> extends QueuedTask<T> {
  rank: number;
  /** Deadline as a number; +Infinity when none, so the comparator needs no branch. */
  due: number;
  classPos: number;
  duePos: number;
}

/** True when `a` must be served before `b`. */
function before<T>(a: Node<T>, b: Node<T>): boolean {
  if (a.rank !== b.rank) return a.rank < b.rank;
  if (a.due !== b.due) return a.due < b.due;
  return a.seq < b.seq;
}

/** Order of the deadline heap: earliest deadline, then FIFO. */
function dueBefore<T>(a: Node<T>, b: Node<T>): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

/**
 * A binary heap whose nodes remember their own index, so an arbitrary node can be removed in
 * O(log n) (task cancellation) instead of lazy tombstones that would distort `size`.
 */
class IndexedHeap<T> {
  readonly items: Node<T>[] = [];
  constructor(
    private readonly less: (a: Node<T>, b: Node<T>) => boolean,
    private readonly pos: 'classPos' | 'duePos',
  ) {}

  get size(): number {
    return this.items.length;
  }

  peek(): Node<T> | undefined {
    return this.items[0];
  }

  push(n: Node<T>): void {
    this.items.push(n);
    this.up(this.items.length - 1, n);
  }

  /** Remove `n` (which must be in this heap). */
  remove(n: Node<T>): void {
    const a = this.items;
    const i = n[this.pos];
    const last = a.pop() as Node<T>;
    n[this.pos] = -1;
    if (i === a.length) return; // n was the last slot
    // Move the last node into the hole and restore order in whichever direction it is violated.
    if (i > 0 && this.less(last, a[(i - 1) >> 1] as Node<T>)) this.up(i, last);
    else this.down(i, last);
  }

  private up(i: number, n: Node<T>): void {
    const a = this.items;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p] as Node<T>;
      if (!this.less(n, parent)) break;
      a[i] = parent;
      parent[this.pos] = i;
      i = p;
    }
    a[i] = n;
    n[this.pos] = i;
  }

  private down(i: number, n: Node<T>): void {
    const a = this.items;
    const len = a.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= len) break;
      const r = l + 1;
      let c = l;
      if (r < len && this.less(a[r] as Node<T>, a[l] as Node<T>)) c = r;
      const child = a[c] as Node<T>;
      if (!this.less(child, n)) break;
      a[i] = child;
      child[this.pos] = i;
      i = c;
    }
    a[i] = n;
    n[this.pos] = i;
  }
}

/** Options of {@link TaskQueue}. */
export interface TaskQueueOptions {
  /** Class used when a pushed task names none. @default 'default' */
  defaultClass?: string;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['defaultClass']);

/**
 * Priority queue of tasks with deadlines, one heap per class, merged at the heads.
 *
 * @typeParam T payload type.
 * @example
 * ```ts
 * const q = new TaskQueue<string>();
 * q.push({ id: 'a', priority: 'low', payload: 'lint', classKey: 'qa' });
 * q.push({ id: 'b', priority: 'high', deadline: 5_000, payload: 'fix', classKey: 'code' });
 * // Only QA agents are free: take the best QA task without being blocked by 'code'.
 * const t = q.popFirstClass((classKey) => classKey === 'qa'); // → task 'a'
 * const late = q.expire(clock.now()); // tasks whose deadline has passed, removed from the queue
 * ```
 */
export class TaskQueue<T> {
  private readonly classes = new Map<string, IndexedHeap<T>>();
  private readonly byId = new Map<string, Node<T>>();
  private readonly dueHeap = new IndexedHeap<T>(dueBefore, 'duePos');
  private readonly defaultClass: string;
  private seq = 0;

  /** @throws ConfigError on an unknown option or a bad value. */
  constructor(options: TaskQueueOptions = {}) {
    const o = record('config', 'taskQueue', options);
    knownKeys('config', 'taskQueue', o, OPTION_KEYS);
    this.defaultClass = str('config', 'taskQueue.defaultClass', o.defaultClass, 'default');
  }

  /** Number of queued tasks. O(1). */
  get size(): number {
    return this.byId.size;
  }

  /** Number of queued tasks in one class. O(1). */
  sizeOf(classKey: string): number {
    return this.classes.get(classKey)?.size ?? 0;
  }

  /** Classes that currently hold at least one task. */
  classKeys(): string[] {
    return [...this.classes.keys()];
  }

  /** Whether a task with this id is queued. */
  has(id: string): boolean {
    return this.byId.has(id);
  }

  /** The queued task with this id, if any. */
  get(id: string): QueuedTask<T> | undefined {
    return this.byId.get(id);
  }

  /**
   * Add a task. Throws {@link InvalidArgumentError} (and leaves the queue unchanged) on a duplicate
   * id, an unknown priority or a non-finite deadline.
   */
  push(input: TaskQueueInput<T>): QueuedTask<T> {
    const { id, payload } = input;
    if (typeof id !== 'string' || id.length === 0)
      throw new InvalidArgumentError('task.id', id, 'a non-empty string');
    if (this.byId.has(id)) throw new InvalidArgumentError('task.id', id, 'an id not already queued');
    const priority = input.priority ?? 'medium';
    const rank = RANK[priority];
    if (rank === undefined || !Object.hasOwn(RANK, priority)) {
      throw new InvalidArgumentError('task.priority', priority, `one of ${PRIORITIES.join(', ')}`);
    }
    const deadline = input.deadline;
    if (deadline !== undefined && (typeof deadline !== 'number' || !Number.isFinite(deadline))) {
      throw new InvalidArgumentError('task.deadline', deadline, 'a finite number');
    }
    const classKey = input.classKey ?? this.defaultClass;
    if (typeof classKey !== 'string') throw new InvalidArgumentError('task.classKey', classKey, 'a string');
    const node: Node<T> = {
      id,
      priority,
      deadline,
      classKey,
      seq: this.seq++,
      payload,
      rank,
      due: deadline ?? Number.POSITIVE_INFINITY,
      classPos: -1,
      duePos: -1,
    };
    let heap = this.classes.get(classKey);
    if (!heap) {
      heap = new IndexedHeap<T>(before, 'classPos');
      this.classes.set(classKey, heap);
    }
    heap.push(node);
    if (deadline !== undefined) this.dueHeap.push(node);
    this.byId.set(id, node);
    return node;
  }

  /** The next task overall, without removing it. O(classes). */
  peek(): QueuedTask<T> | undefined {
    let best: Node<T> | undefined;
    for (const h of this.classes.values()) {
      const head = h.peek();
      if (head && (!best || before(head, best))) best = head;
    }
    return best;
  }

  /** The next task of one class, without removing it. O(1). */
  peekClass(classKey: string): QueuedTask<T> | undefined {
    return this.classes.get(classKey)?.peek();
  }

  /** Remove and return the next task overall. O(classes + log n). */
  pop(): QueuedTask<T> | undefined {
    const best = this.peek() as Node<T> | undefined;
    if (best) this.detach(best);
    return best;
  }

  /** Remove and return the next task of one class. O(log n). */
  popClass(classKey: string): QueuedTask<T> | undefined {
    const head = this.classes.get(classKey)?.peek();
    if (head) this.detach(head);
    return head;
  }

  /**
   * Remove and return the best class head that `accept` takes, looking at class heads in queue
   * order. A class whose head is refused is skipped as a whole, so a class that cannot be placed
   * never blocks another. O(classes · log classes + log n); `accept` is called at most once per
   * class.
   *
   * Use this when whether a task can be placed depends only on its class (type, capability set).
   */
  popFirstClass(accept: (classKey: string, head: QueuedTask<T>) => boolean): QueuedTask<T> | undefined {
    const heads: Node<T>[] = [];
    for (const h of this.classes.values()) {
      const head = h.peek();
      if (head) heads.push(head);
    }
    heads.sort((a, b) => (before(a, b) ? -1 : 1));
    for (const head of heads) {
      if (accept(head.classKey, head)) {
        this.detach(head);
        return head;
      }
    }
    return undefined;
  }

  /**
   * Remove and return the first task in queue order that satisfies `pred`, looking at no more than
   * `maxScan` tasks. Tasks that fail `pred` stay queued in place and do not block the ones behind
   * them. Enumerates in order lazily (a best-first walk over the heaps), so the cost is
   * O(k log k + log n) for k tasks examined, not a sort of the whole queue.
   *
   * @param maxScan how many tasks to examine at most. @default Infinity
   */
  popFirst(
    pred: (task: QueuedTask<T>) => boolean,
    maxScan = Number.POSITIVE_INFINITY,
  ): QueuedTask<T> | undefined {
    const found = this.findFirst(pred, maxScan) as Node<T> | undefined;
    if (found) this.detach(found);
    return found;
  }

  /** Like {@link popFirst} without removing the task. */
  findFirst(
    pred: (task: QueuedTask<T>) => boolean,
    maxScan = Number.POSITIVE_INFINITY,
  ): QueuedTask<T> | undefined {
    // Frontier of (heap, index) cells, ordered like the tasks: the heap property means a node's
    // children can only come after it, so popping the frontier yields the tasks in order.
    const frontier: { heap: IndexedHeap<T>; i: number }[] = [];
    const less = (x: { heap: IndexedHeap<T>; i: number }, y: { heap: IndexedHeap<T>; i: number }) =>
      before(x.heap.items[x.i] as Node<T>, y.heap.items[y.i] as Node<T>);
    const fpush = (cell: { heap: IndexedHeap<T>; i: number }) => {
      frontier.push(cell);
      let k = frontier.length - 1;
      while (k > 0) {
        const p = (k - 1) >> 1;
        if (!less(cell, frontier[p]!)) break;
        frontier[k] = frontier[p]!;
        k = p;
      }
      frontier[k] = cell;
    };
    const fpop = () => {
      const top = frontier[0];
      const last = frontier.pop()!;
      if (frontier.length > 0) {
        let k = 0;
        const n = frontier.length;
        for (;;) {
          const l = 2 * k + 1;
          if (l >= n) break;
          let c = l;
          if (l + 1 < n && less(frontier[l + 1]!, frontier[l]!)) c = l + 1;
          if (!less(frontier[c]!, last)) break;
          frontier[k] = frontier[c]!;
          k = c;
        }
        frontier[k] = last;
      }
      return top;
    };
    for (const heap of this.classes.values()) if (heap.size > 0) fpush({ heap, i: 0 });
    let scanned = 0;
    while (frontier.length > 0 && scanned < maxScan) {
      const cell = fpop()!;
      const node = cell.heap.items[cell.i] as Node<T>;
      scanned++;
      if (pred(node)) return node;
      const l = 2 * cell.i + 1;
      if (l < cell.heap.size) fpush({ heap: cell.heap, i: l });
      if (l + 1 < cell.heap.size) fpush({ heap: cell.heap, i: l + 1 });
    }
    return undefined;
  }

  /** The tasks of one class, in no particular order (a copy). O(k) for k tasks of the class. */
  classTasks(classKey: string): QueuedTask<T>[] {
    return this.classes.get(classKey)?.items.slice() ?? [];
  }

  /**
   * Give a queued task a new priority (priority aging). It joins its new level behind the tasks
   * already there (a fresh FIFO sequence number); its deadline and class stay. Returns false when no
   * such task is queued. O(log n).
   */
  promote(id: string, priority: Priority): boolean {
    const node = this.byId.get(id);
    if (!node) return false;
    if (!Object.hasOwn(RANK, priority))
      throw new InvalidArgumentError('task.priority', priority, `one of ${PRIORITIES.join(', ')}`);
    this.detach(node);
    this.push({
      id: node.id,
      priority,
      ...(node.deadline !== undefined ? { deadline: node.deadline } : {}),
      classKey: node.classKey,
      payload: node.payload,
    });
    return true;
  }

  /** Cancel a queued task. Returns it, or `undefined` if no such task is queued. O(log n). */
  remove(id: string): QueuedTask<T> | undefined {
    const node = this.byId.get(id);
    if (node) this.detach(node);
    return node;
  }

  /**
   * Remove and return every task whose deadline has passed (`deadline <= now`), earliest deadline
   * first. O(k log n) for k expired tasks.
   */
  expire(now: number): QueuedTask<T>[] {
    const out: QueuedTask<T>[] = [];
    for (let head = this.dueHeap.peek(); head && head.due <= now; head = this.dueHeap.peek()) {
      this.detach(head);
      out.push(head);
    }
    return out;
  }

  /** The earliest deadline among queued tasks (to arm one timer), or `undefined`. O(1). */
  nextDeadline(): number | undefined {
    return this.dueHeap.peek()?.deadline;
  }

  /** Every queued task in queue order. O(n log n); for inspection and tests. */
  toArray(): QueuedTask<T>[] {
    const all = [...this.byId.values()];
    all.sort((a, b) => (before(a, b) ? -1 : 1));
    return all;
  }

  /** Remove every task. */
  clear(): void {
    this.classes.clear();
    this.byId.clear();
    this.dueHeap.items.length = 0;
  }

  private detach(node: Node<T>): void {
    const heap = this.classes.get(node.classKey);
    if (heap && node.classPos >= 0) {
      heap.remove(node);
      // Drop empty classes so popFirstClass/peek stay O(live classes), not O(classes ever seen).
      if (heap.size === 0) this.classes.delete(node.classKey);
    }
    if (node.duePos >= 0) this.dueHeap.remove(node);
    this.byId.delete(node.id);
  }
}
