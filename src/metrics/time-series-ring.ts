/**
 * A fixed-capacity ring of per-interval samples: the newest `capacity` samples are kept, older ones are
 * overwritten. O(1) push; memory stays bounded however long a pool runs.
 */
import { InvalidArgumentError } from '../core/errors.js';

/**
 * Fixed-capacity ring buffer.
 *
 * @example
 * ```ts
 * const ring = new TimeSeriesRing<number>(3);
 * [1, 2, 3, 4].forEach((v) => ring.push(v));
 * ring.toArray(); // [2, 3, 4]
 * ```
 */
export class TimeSeriesRing<T> {
  private readonly items: (T | undefined)[];
  private head = 0;
  private length = 0;

  /** @param capacity number of samples kept (≥ 1). */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError('timeSeriesRing.capacity', capacity, 'an integer >= 1');
    }
    this.items = new Array<T | undefined>(capacity);
  }

  /** Number of samples held (≤ capacity). */
  get size(): number {
    return this.length;
  }

  /** Append a sample, overwriting the oldest when full. */
  push(sample: T): void {
    this.items[(this.head + this.length) % this.capacity] = sample;
    if (this.length < this.capacity) this.length++;
    else this.head = (this.head + 1) % this.capacity;
  }

  /** The i-th sample, oldest first (0 = oldest); negative i counts from the newest (-1 = newest). */
  at(i: number): T | undefined {
    const k = i < 0 ? this.length + i : i;
    if (k < 0 || k >= this.length) return undefined;
    return this.items[(this.head + k) % this.capacity];
  }

  /** The newest sample, if any. */
  latest(): T | undefined {
    return this.at(-1);
  }

  /** Samples oldest → newest. */
  toArray(): T[] {
    const out: T[] = [];
    for (let k = 0; k < this.length; k++) out.push(this.items[(this.head + k) % this.capacity] as T);
    return out;
  }

  /** Remove every sample. */
  clear(): void {
    this.items.fill(undefined);
    this.head = 0;
    this.length = 0;
  }
}
