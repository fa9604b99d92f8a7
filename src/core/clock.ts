/**
 * The injected clock. All runtime time goes through it so that the same code runs live
 * ({@link realClock}) and in deterministic simulation ({@link ManualClock}).
 *
 * The shape is a superset of XState's `Clock` (`setTimeout`/`clearTimeout`), so one clock is passed
 * both to `createActor(…, { clock })` and to runtime code: machine `after` delays and runtime timers
 * then advance together.
 */
import { BinaryHeap } from './heap.js';

/** Opaque timer handle. */
export type TimerHandle = unknown;

/**
 * The longest duration, in ms, that agentpool accepts for any option or timer: 2^31 − 1 ms (about
 * 24.8 days), the largest delay a Node.js timer honours — Node fires a longer one after 1 ms instead.
 * Every duration option (timeouts, intervals, cooldowns, windows, graces, deadlines) must be a finite
 * number from 0 to this, else the boundary throws `ERR_INVALID_CONFIG` / `ERR_INVALID_ARGUMENT`
 * naming the option. {@link realClock} itself never hands Node a longer delay: it re-arms a long
 * timer in chunks of at most this until it is due.
 */
export const MAX_DURATION_MS = 2_147_483_647;

/** A source of time and timers. */
export interface Clock {
  /** Current time in milliseconds (fractional allowed). Monotonic. */
  now(): number;
  /** Call `fn` after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancel a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** A delay as a clock understands it: NaN and negative delays are 0 (due now). */
function delayOf(ms: number): number {
  return ms > 0 ? ms : 0;
}

// Read once: the origin is fixed for the thread's life, and its getter allocates on every read.
const TIME_ORIGIN = performance.timeOrigin;
const realNow = (): number => TIME_ORIGIN + performance.now();

/**
 * A real timer longer than {@link MAX_DURATION_MS}: re-armed in chunks of at most that until due
 * (`Infinity` is never due). `timer` is the Node timer currently armed.
 */
class LongTimer {
  timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    private readonly fn: () => void,
    private readonly due: number,
  ) {
    this.arm();
  }
  private arm(): void {
    const left = this.due - realNow();
    this.timer =
      left > MAX_DURATION_MS
        ? setTimeout(() => this.arm(), MAX_DURATION_MS)
        : setTimeout(this.fn, Math.max(0, left));
  }
}

/**
 * Wall-clock time. Timers are ordinary (ref'd) timers: a pending wait keeps the process alive, as the
 * caller awaiting it expects; `shutdown()` ends every actor, which clears every timer. A NaN or
 * negative delay is 0; a delay beyond {@link MAX_DURATION_MS} (Node's timer range) is re-armed in
 * chunks until due, and `Infinity` never fires — `clearTimeout` cancels either.
 */
export const realClock: Clock = {
  now: realNow,
  setTimeout(fn, ms) {
    const delay = delayOf(ms);
    return delay <= MAX_DURATION_MS ? setTimeout(fn, delay) : new LongTimer(fn, realNow() + delay);
  },
  clearTimeout(handle) {
    clearTimeout((handle instanceof LongTimer ? handle.timer : handle) as ReturnType<typeof setTimeout>);
  },
};

interface ManualTimer {
  id: number;
  at: number;
  seq: number;
  fn: () => void;
}

/**
 * A clock that only moves when told to. Timers fire in due-time order (FIFO among equal times). A NaN
 * or negative delay is 0 (due now); an `Infinity` delay never fires (it is pending until cleared, but
 * never due: {@link nextAt} and {@link advance} do not see it). Compatible with XState's `SimulatedClock` use: pass it as `createActor(machine, { clock })`.
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
    const at = this.time + delayOf(ms);
    // A timer that is never due stays out of the heap: no advance, however far, reaches it.
    if (at !== Number.POSITIVE_INFINITY) this.heap.push({ id, at, seq: id, fn });
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

  /** Move time forward by `ms` (NaN or negative: not at all), firing due timers synchronously in order. */
  advance(ms: number): void {
    const end = this.time + delayOf(ms);
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
    const end = this.time + delayOf(ms);
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
