/**
 * Events per minute over a sliding window, driven by the caller's clock (`now` is passed in, never read
 * from the wall clock), so it behaves identically live and in simulation.
 *
 * The window is split into `buckets` slots; a slot older than the window is cleared lazily when time
 * moves past it. Cost: O(1) amortised per call, O(buckets) memory.
 */
import { InvalidArgumentError } from '../core/errors.js';
import { record as asRecord, knownKeys, num } from '../core/validate.js';

/** Options of a {@link RateCounter}. */
export interface RateCounterOptions {
  /** Length of the sliding window in ms. @default 60000 */
  windowMs?: number;
  /** Number of slots the window is divided into (resolution = windowMs / buckets). @default 60 */
  buckets?: number;
  /**
   * When counting began (ms, the caller's clock). Until a whole window has passed, rates are divided by
   * the time elapsed since then (at least one slot) instead of the full window — otherwise a fresh
   * counter under-reports: 20 s of 4 events/s would read as 80 per minute → 1.33/s, and a scaler fed
   * that rate would undersize the pool right when demand first arrives.
   * @default undefined (always divide by the full window)
   */
  startMs?: number;
}

const KEYS = new Set(['windowMs', 'buckets', 'startMs']);

/**
 * Sliding-window event counter.
 *
 * @example
 * ```ts
 * const c = new RateCounter({ windowMs: 60_000 });
 * c.add(clock.now());
 * c.perMinute(clock.now());
 * ```
 */
export class RateCounter {
  /** Window length in ms. */
  readonly windowMs: number;
  private readonly slotMs: number;
  private readonly slots: Float64Array;
  /** Absolute slot number held by each slot (to detect stale slots). */
  private readonly slotIds: Float64Array;
  private lastSlot = Number.NEGATIVE_INFINITY;
  private runningTotal = 0;
  private readonly startMs: number | undefined;

  constructor(options: RateCounterOptions = {}) {
    const o = asRecord('argument', 'rateCounter', options);
    knownKeys('argument', 'rateCounter', o, KEYS);
    this.windowMs = num('argument', 'rateCounter.windowMs', o.windowMs, 60_000, { gt: 0 });
    const n = num('argument', 'rateCounter.buckets', o.buckets, 60, { integer: true, min: 1, max: 100_000 });
    this.slotMs = this.windowMs / n;
    this.startMs = o.startMs === undefined ? undefined : num('argument', 'rateCounter.startMs', o.startMs, 0);
    this.slots = new Float64Array(n);
    this.slotIds = new Float64Array(n).fill(Number.NEGATIVE_INFINITY);
  }

  /** Drop slots that have left the window as of slot number `slot`. */
  private advanceTo(slot: number): void {
    if (slot <= this.lastSlot) return;
    const n = this.slots.length;
    // Only the slots between the last seen slot and now can be stale: at most n of them.
    const from = Math.max(this.lastSlot + 1, slot - n + 1);
    for (let s = from; s <= slot; s++) {
      const i = ((s % n) + n) % n;
      this.runningTotal -= this.slots[i] as number;
      this.slots[i] = 0;
      this.slotIds[i] = s;
    }
    this.lastSlot = slot;
  }

  /** Count `n` events at time `now` (ms). Times earlier than the newest slot count in the newest slot. */
  add(now: number, n = 1): void {
    if (!Number.isFinite(now)) throw new InvalidArgumentError('rateCounter.now', now, 'a finite time in ms');
    const slot = Math.floor(now / this.slotMs);
    this.advanceTo(slot);
    const target = Math.max(slot, this.lastSlot);
    const i = ((target % this.slots.length) + this.slots.length) % this.slots.length;
    this.slots[i] = (this.slots[i] as number) + n;
    this.runningTotal += n;
  }

  /** Events counted in the window ending at `now`. */
  total(now: number): number {
    this.advanceTo(Math.floor(now / this.slotMs));
    // Guard against accumulated floating-point drift.
    return Math.max(0, this.runningTotal);
  }

  /** Events per minute over the window ending at `now`. */
  perMinute(now: number): number {
    return (this.total(now) * 60_000) / this.span(now);
  }

  /** Events per second over the window ending at `now`. */
  perSecond(now: number): number {
    return (this.total(now) * 1000) / this.span(now);
  }

  /** The time the window's count covers: the full window, or less for a counter started recently. */
  private span(now: number): number {
    if (this.startMs === undefined) return this.windowMs;
    return Math.min(this.windowMs, Math.max(this.slotMs, now - this.startMs));
  }
}
