/**
 * The injected clock. All runtime time goes through it so that the same code runs live
 * ({@link realClock}) and in deterministic simulation ({@link ManualClock}).
 *
 * The shape is a superset of XState's `Clock` (`setTimeout`/`clearTimeout`), so one clock is passed
 * both to `createActor(…, { clock })` and to runtime code: machine `after` delays and runtime timers
 * then advance together.
 */
import { BinaryHeap } from '../structures/heap.js';

/** Opaque timer handle. */
export type TimerHandle = unknown;

/** A source of time and timers. */
export interface Clock {
  /** Current time in milliseconds (fractional allowed). Monotonic. */
  now(): number;
  /** Call `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancel a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Wall-clock time. Timers are ordinary (ref'd) timers: a pending wait keeps the process alive, as the
 * caller awaiting it expects; `shutdown()` ends every actor, which clears every timer.
 */
export const realClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout(handle) {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in due-time order (FIFO among equal times).
 * Compatible with XState's `SimulatedClock` use: pass it as `createActor(machine, { clock })`.
 *
 * @example
 * ```ts
 * const clock = new ManualClock();
 * const system = createAgentPoolSystem({ clock, pools: { … } });
 * await clock.advanceAsync(30_000); // fires every timer due in the next 30 s, letting promises settle between
 * ```
 */
export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly heap = new BinaryHeap<ManualTimer>(
    (a, b) => a.at < b.at || (a.at === b.at && a.seq < b.seq),
  );
  private readonly live = new Set<number>();

  /** @param start initial time in ms. @default 0 */
  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.heap.push({ id, at: this.time + Math.max(0, ms), seq: id, fn });
    this.live.add(id);
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.live.delete(handle as number);
  }

  /** Number of timers still pending. */
  get pending(): number {
    return this.live.size;
  }

  /** Due time of the next pending timer, or undefined. */
  nextAt(): number | undefined {
    this.dropCancelled();
    return this.heap.peek()?.at;
  }

  /** XState SimulatedClock compatibility: same as {@link advance}. */
  increment(ms: number): void {
    this.advance(ms);
  }

  /** XState SimulatedClock compatibility: move to an absolute time (never backwards). */
  set(time: number): void {
    this.advance(Math.max(0, time - this.time));
  }

  /** Move time forward by `ms`, firing due timers synchronously in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const t = this.takeDue(end);
      if (!t) break;
      t.fn();
    }
    this.time = Math.max(this.time, end);
  }

  /**
   * Move time forward by `ms`, firing due timers in order and letting pending promise callbacks run
   * after each one (so async runtime code reacts before the next timer, as it would live).
   */
  async advanceAsync(ms: number): Promise<void> {
    const end = this.time + ms;
    await flushMicrotasks();
    for (;;) {
      const t = this.takeDue(end);
      if (!t) break;
      t.fn();
      await flushMicrotasks();
    }
    this.time = Math.max(this.time, end);
    await flushMicrotasks();
  }

  private takeDue(end: number): ManualTimer | undefined {
    this.dropCancelled();
    const top = this.heap.peek();
    if (!top || top.at > end) return undefined;
    this.heap.pop();
    this.live.delete(top.id);
    this.time = Math.max(this.time, top.at);
    return top;
  }

  private dropCancelled(): void {
    for (let top = this.heap.peek(); top && !this.live.has(top.id); top = this.heap.peek()) this.heap.pop();
  }
}

/** Let queued promise callbacks run (a few macrotask-free turns of the microtask queue). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/**
 * Resolve after `ms` on `clock`, or reject with the signal's reason when aborted.
 * The one place runtime code sleeps.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(h);
      reject(signal?.reason);
    };
    const h = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
