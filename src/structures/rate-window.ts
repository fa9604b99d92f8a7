/**
 * A sliding-window rate limit: at most `limit` units (requests, tokens) taken within any `windowMs`
 * span. Pure: every method takes `now` (the caller's clock), so it runs on a ManualClock in tests
 * and on the simulated clock in simulations.
 *
 * Why a sliding log and not a token bucket: a reservation of `n` tokens is exact (no fractional
 * refill to round), a refund (a reservation settled for less) simply shrinks its entry, and "back to
 * zero" is observable — {@link RateWindow.used} is 0 once `windowMs` passed since the last entry.
 * Requests are smoothed by the caller with a small window (see src/runtime/rate-limits.ts).
 */
import { Deque } from './work-stealing.js';

/** One unit-bearing entry of a {@link RateWindow}; its `amount` may be lowered after the fact. */
export interface RateEntry {
  readonly at: number;
  amount: number;
}

/**
 * At most `limit` units within any `windowMs` span.
 * @example
 * ```ts
 * const w = new RateWindow(1_000, 60_000); // 1 000 tokens per minute
 * w.take(600, now);
 * w.waitFor(600, now); // → ms until 600 more fit (the first entry leaving the window)
 * ```
 */
export class RateWindow {
  private readonly entries = new Deque<RateEntry>();
  /** Sum of the entries' amounts: a cache of the deque, changed only with it. */
  private sum = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Units taken within the window ending at `now`. */
  used(now: number): number {
    this.prune(now);
    return this.sum;
  }

  /**
   * Ms from `now` until `amount` more units fit (0 = now); `Infinity` when `amount` exceeds the limit
   * (it can never fit).
   */
  waitFor(amount: number, now: number): number {
    if (amount > this.limit) return Number.POSITIVE_INFINITY;
    this.prune(now);
    let excess = this.sum + amount - this.limit;
    if (excess <= 0) return 0;
    // Walk the oldest entries until enough has left the window.
    for (const e of this.entries.toArray()) {
      excess -= e.amount;
      if (excess <= 0) return e.at + this.windowMs - now;
    }
    return this.windowMs;
  }

  /** Take `amount` units at `now` (the caller checked {@link waitFor}). */
  take(amount: number, now: number): RateEntry {
    const e: RateEntry = { at: now, amount };
    this.entries.pushBottom(e);
    this.sum += amount;
    return e;
  }

  /** Lower an entry taken earlier to `amount` (a reservation settled for less); never raises it. */
  shrink(entry: RateEntry, amount: number, now: number): void {
    const next = Math.max(0, Math.min(entry.amount, amount));
    this.prune(now);
    // After the prune, an entry still inside the window is still in the deque, so in `sum`.
    if (entry.at + this.windowMs > now) this.sum -= entry.amount - next;
    entry.amount = next;
  }

  private prune(now: number): void {
    for (let e = this.entries.peekTop(); e && e.at + this.windowMs <= now; e = this.entries.peekTop()) {
      this.entries.popTop();
      this.sum -= e.amount;
    }
  }
}
