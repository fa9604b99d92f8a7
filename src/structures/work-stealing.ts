/**
 * Work stealing: one local deque per agent plus a global inject queue.
 *
 * - The owner pushes and pops at the **bottom** (newest first, LIFO): the task it just queued is the
 *   one whose context is warm.
 * - Thieves take from the **top** (oldest first): the oldest task has waited longest, and taking from
 *   the opposite end keeps owner and thief apart.
 * - An idle agent steals **half** of the busiest queue (Tokio, Go's `runqgrab`), so one steal
 *   rebalances instead of ping-ponging single tasks.
 * - The global queue is checked first on every `globalCheckInterval`-th pop (Go uses 61, a prime, so
 *   the check does not fall into lockstep with periodic workloads) so it is never starved by agents
 *   that always have local work.
 *
 * Pure and single-threaded: the dispatcher actor is the only caller, so there is no concurrent
 * access to guard; the shape is the classic one so the policy is the same.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { knownKeys, num, record } from '../core/validate.js';

/**
 * A double-ended queue on a growable ring buffer. O(1) amortised at both ends.
 *
 * @example
 * ```ts
 * const d = new Deque<string>();
 * d.pushBottom('a'); d.pushBottom('b');
 * d.popBottom(); // 'b' (owner: newest)
 * d.popTop();    // 'a' (thief: oldest)
 * ```
 */
export class Deque<T> {
  private buf: (T | undefined)[] = new Array(8);
  private head = 0; // index of the top (oldest) item
  private len = 0;

  /** Number of items. */
  get size(): number {
    return this.len;
  }

  /** Add at the bottom (newest end). */
  pushBottom(item: T): void {
    if (this.len === this.buf.length) this.grow();
    this.buf[(this.head + this.len) & (this.buf.length - 1)] = item;
    this.len++;
  }

  /** Remove the newest item (owner side). */
  popBottom(): T | undefined {
    if (this.len === 0) return undefined;
    this.len--;
    const i = (this.head + this.len) & (this.buf.length - 1);
    const item = this.buf[i];
    this.buf[i] = undefined; // let the task be collected
    return item;
  }

  /** Remove the oldest item (thief side, and FIFO consumers). */
  popTop(): T | undefined {
    if (this.len === 0) return undefined;
    const item = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.len--;
    return item;
  }

  /** The oldest item without removing it. */
  peekTop(): T | undefined {
    return this.len === 0 ? undefined : this.buf[this.head];
  }

  /** Remove the first item (from the top) matching `pred`. O(n); used for cancellation. */
  removeWhere(pred: (item: T) => boolean): T | undefined {
    const mask = this.buf.length - 1;
    for (let k = 0; k < this.len; k++) {
      const item = this.buf[(this.head + k) & mask] as T;
      if (!pred(item)) continue;
      // Shift the items below it up by one to close the gap.
      for (let j = k; j < this.len - 1; j++) {
        this.buf[(this.head + j) & mask] = this.buf[(this.head + j + 1) & mask];
      }
      this.buf[(this.head + this.len - 1) & mask] = undefined;
      this.len--;
      return item;
    }
    return undefined;
  }

  /** Items from top (oldest) to bottom (newest). */
  toArray(): T[] {
    const out: T[] = [];
    const mask = this.buf.length - 1;
    for (let k = 0; k < this.len; k++) out.push(this.buf[(this.head + k) & mask] as T);
    return out;
  }

  /**
   * Move the oldest half (rounded up) of `victim` to the bottom of this deque, keeping their order.
   * Returns how many moved.
   */
  stealHalf(victim: Deque<T>): number {
    const n = Math.ceil(victim.size / 2);
    for (let k = 0; k < n; k++) this.pushBottom(victim.popTop() as T);
    return n;
  }

  private grow(): void {
    // Capacity stays a power of two so indices wrap with a mask instead of a modulo.
    const next: (T | undefined)[] = new Array(this.buf.length * 2);
    for (let k = 0; k < this.len; k++) next[k] = this.buf[(this.head + k) & (this.buf.length - 1)];
    this.buf = next;
    this.head = 0;
  }
}

/** Where {@link WorkStealingScheduler.next} found a task. */
export type TaskSource = 'local' | 'global' | 'stolen';

/** Result of {@link WorkStealingScheduler.next}. */
export interface NextTask<T> {
  task: T;
  source: TaskSource;
  /** The agent stolen from, when `source` is `'stolen'`. */
  from?: string;
  /** How many tasks the steal moved (including the one returned). */
  stolen?: number;
}

/** Options of {@link WorkStealingScheduler}. */
export interface WorkStealingOptions {
  /** Check the global queue first on every N-th pop of an agent, so it is never starved. @default 61 */
  globalCheckInterval?: number;
  /** Only queues holding at least this many tasks are stolen from. @default 2 */
  stealThreshold?: number;
  /**
   * Local queue bound. A push to a full local queue moves the older half of it to the global queue
   * (Go's `runqputslow`), so one agent cannot hoard work. @default 256
   */
  localCapacity?: number;
}

const OPTION_KEYS: ReadonlySet<string> = new Set(['globalCheckInterval', 'stealThreshold', 'localCapacity']);

/**
 * Per-agent local deques, a global FIFO inject queue, and the policy that decides where an agent's
 * next task comes from: every N-th pop the global queue first; otherwise own deque (newest), then
 * global (oldest), then steal half of the busiest deque at or above the threshold.
 *
 * @example
 * ```ts
 * const ws = new WorkStealingScheduler<Task>({ stealThreshold: 2 });
 * ws.addAgent('a'); ws.addAgent('b');
 * ws.pushLocal('a', t1); ws.pushLocal('a', t2); ws.pushLocal('a', t3);
 * ws.next('b'); // { task: t1, source: 'stolen', from: 'a', stolen: 2 } — b now also holds t2
 * ```
 */
export class WorkStealingScheduler<T> {
  private readonly locals = new Map<string, Deque<T>>();
  private readonly ticks = new Map<string, number>();
  private global = new Deque<T>();
  private readonly interval: number;
  private readonly threshold: number;
  private readonly capacity: number;

  /** @throws ConfigError on an unknown option or an out-of-range value. */
  constructor(options: WorkStealingOptions = {}) {
    const o = record('config', 'workStealing', options);
    knownKeys('config', 'workStealing', o, OPTION_KEYS);
    this.interval = num('config', 'workStealing.globalCheckInterval', o.globalCheckInterval, 61, {
      integer: true,
      min: 1,
    });
    this.threshold = num('config', 'workStealing.stealThreshold', o.stealThreshold, 2, {
      integer: true,
      min: 1,
    });
    this.capacity = num('config', 'workStealing.localCapacity', o.localCapacity, 256, {
      integer: true,
      min: 1,
    });
  }

  /** Register an agent with an empty local queue. Idempotent. */
  addAgent(agentId: string): void {
    if (!this.locals.has(agentId)) {
      this.locals.set(agentId, new Deque<T>());
      this.ticks.set(agentId, 0);
    }
  }

  /**
   * Unregister an agent. Its queued tasks go to the front of the global queue (they were queued
   * before anything injected since, so they keep their place) and are returned for bookkeeping.
   */
  removeAgent(agentId: string): T[] {
    const d = this.locals.get(agentId);
    if (!d) return [];
    this.locals.delete(agentId);
    this.ticks.delete(agentId);
    const orphans = d.toArray();
    // Prepend in order: rebuild the global queue with the orphans first.
    const g = new Deque<T>();
    for (const t of orphans) g.pushBottom(t);
    for (const t of this.global.toArray()) g.pushBottom(t);
    this.global = g;
    return orphans;
  }

  /** Known agent ids. */
  agents(): string[] {
    return [...this.locals.keys()];
  }

  /** Add a task to the global queue (any agent may take it). */
  inject(task: T): void {
    this.global.pushBottom(task);
  }

  /**
   * Add a task to one agent's local queue (e.g. it carries that agent's context). When the local
   * queue is full, its older half moves to the global queue first.
   *
   * @throws InvalidArgumentError for an unknown agent (nothing is changed).
   */
  pushLocal(agentId: string, task: T): void {
    const d = this.local(agentId);
    if (d.size >= this.capacity) this.global.stealHalf(d);
    d.pushBottom(task);
  }

  /** Where the agent's next task comes from; `undefined` when there is no work anywhere. */
  next(agentId: string): NextTask<T> | undefined {
    const d = this.local(agentId);
    const tick = (this.ticks.get(agentId) ?? 0) + 1;
    this.ticks.set(agentId, tick);
    if (tick % this.interval === 0 && this.global.size > 0) {
      return { task: this.global.popTop() as T, source: 'global' };
    }
    if (d.size > 0) return { task: d.popBottom() as T, source: 'local' };
    if (this.global.size > 0) return { task: this.global.popTop() as T, source: 'global' };
    const victimId = this.busiest(agentId);
    if (victimId === undefined) return undefined;
    const victim = this.locals.get(victimId) as Deque<T>;
    const stolen = d.stealHalf(victim);
    // Run the oldest of the stolen tasks now (it has waited longest); the rest stay local.
    return { task: d.popTop() as T, source: 'stolen', from: victimId, stolen };
  }

  /** Length of one agent's local queue (0 for an unknown agent). */
  localSize(agentId: string): number {
    return this.locals.get(agentId)?.size ?? 0;
  }

  /** Number of tasks in the global queue. */
  get globalSize(): number {
    return this.global.size;
  }

  /** Total number of queued tasks, local and global. */
  get size(): number {
    let n = this.global.size;
    for (const d of this.locals.values()) n += d.size;
    return n;
  }

  /** Remove a queued task wherever it is (cancellation). O(queued tasks). */
  remove(pred: (task: T) => boolean): T | undefined {
    const g = this.global.removeWhere(pred);
    if (g !== undefined) return g;
    for (const d of this.locals.values()) {
      const t = d.removeWhere(pred);
      if (t !== undefined) return t;
    }
    return undefined;
  }

  /** Snapshot of every queue, for inspection and tests (global under `global`). */
  snapshot(): { global: T[]; locals: Record<string, T[]> } {
    const locals: Record<string, T[]> = {};
    for (const [id, d] of this.locals) locals[id] = d.toArray();
    return { global: this.global.toArray(), locals };
  }

  /** The other agent with the longest local queue at or above the threshold (ties: first added). */
  private busiest(except: string): string | undefined {
    let best: string | undefined;
    let bestSize = this.threshold - 1;
    for (const [id, d] of this.locals) {
      if (id !== except && d.size > bestSize) {
        best = id;
        bestSize = d.size;
      }
    }
    return best;
  }

  private local(agentId: string): Deque<T> {
    const d = this.locals.get(agentId);
    if (!d)
      throw new InvalidArgumentError('agentId', agentId, `a registered agent (${this.agents().join(', ')})`);
    return d;
  }
}
