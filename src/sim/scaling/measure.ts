/**
 * Measurement helpers shared by the two scaling-simulation engines: exact wait percentiles, flap
 * counting, and the mean of a service distribution.
 */
import type { Distribution } from '../random.js';

/** Growable Float64 array for the exact wait percentiles. */
export class Samples {
  private data = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  sorted(): Float64Array {
    return this.data.slice(0, this.length).sort();
  }
}

export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/** Mean of a service distribution (ms), for sizing the fixed pools. */
export function distributionMean(d: Distribution): number {
  switch (d.kind) {
    case 'constant':
      return d.value;
    case 'exponential':
    case 'lognormal':
      return d.mean;
  }
}

/** An applied size change at `t` seconds. */
interface SizeChange {
  t: number;
  from: number;
  to: number;
}

/** Direction reversals closer than `windowMs` (a scale-up followed by a scale-down or vice versa). */
export function countFlaps(events: readonly SizeChange[], windowMs: number): number {
  let flaps = 0;
  for (let i = 1; i < events.length; i++) {
    const a = events[i - 1] as SizeChange;
    const b = events[i] as SizeChange;
    const da = Math.sign(a.to - a.from);
    const db = Math.sign(b.to - b.from);
    if (da !== 0 && db !== 0 && da !== db && (b.t - a.t) * 1000 < windowMs) flaps++;
  }
  return flaps;
}
