/**
 * Recent acquire waits: a fixed ring of the last N samples with exact percentiles on demand.
 * Cheap to record (O(1)); summary sorts a copy (called for status/metrics, not per acquire).
 */
export class WaitStats {
  private readonly ring: Float64Array;
  private n = 0;
  private total = 0;

  /** @param capacity samples kept. @default 4096 */
  constructor(capacity = 4096) {
    this.ring = new Float64Array(capacity);
  }

  /** Record one wait (ms). */
  record(ms: number): void {
    this.ring[this.n % this.ring.length] = ms;
    this.n++;
    this.total++;
  }

  /** The kept samples (most recent `capacity`), unordered. */
  values(): number[] {
    return Array.from(this.ring.subarray(0, Math.min(this.n, this.ring.length)));
  }

  /** p50/p99 over the kept samples, and the total count. */
  summary(): { p50: number; p99: number; count: number } {
    const k = Math.min(this.n, this.ring.length);
    if (k === 0) return { p50: 0, p99: 0, count: 0 };
    const s = Array.from(this.ring.subarray(0, k)).sort((a, b) => a - b);
    const at = (q: number) => s[Math.min(k - 1, Math.floor(q * k))] ?? 0;
    return { p50: at(0.5), p99: at(0.99), count: this.total };
  }
}
