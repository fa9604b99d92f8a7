/**
 * What a pool measures of itself for metrics and for its scaler: arrivals (a 30 s rate window),
 * grant waits, the leases-over-time integral behind utilization, and the scaler's observation built
 * from them. The counts themselves (agents by state, waiters, backlog) belong to the pool; it passes
 * them in — this module keeps only the measurements, each in one place.
 */
import { PoolMetrics, type PoolMetricsSample, type PoolMetricsSnapshot } from '../metrics/pool-metrics.js';
import { RateCounter } from '../metrics/rate-counter.js';
import type { ScalingObservation } from '../policies/scaling/decide.js';
import { WaitStats } from './wait-stats.js';

/** A pool's agents by state (see `Pool.agentCounts`). */
export interface AgentCounts {
  total: number;
  available: number;
  busy: number;
  starting: number;
  standby: number;
}

/** Demand waiting for the pool now: its own waiters and the dispatcher's backlog for its type. */
export interface Waiting {
  count: number;
  /** When the oldest of them started waiting (clock ms), if any waits. */
  oldestAt: number | undefined;
  /** Submitted tasks held back by the pool's rate limit (not in `count`: more agents would not help). */
  rateLimited?: number;
  /** Requests per second the pool's rate limit lets start: the scaler never sizes for more. */
  startRateLimitPerS?: number;
}

/** What the dispatcher reports of the work it queues for a pool (see `AgentPool.setBacklog`). */
export type BacklogReading = Waiting;

/** One pool's measurements. */
export class PoolObserver {
  /** Metrics: requests, waits, service times, rates, agent counts (src/metrics). */
  readonly metrics: PoolMetrics;
  /** Acquire waits (p50/p99 for status()). */
  readonly waits = new WaitStats();
  /** ∫ leases dt (lease-ms), for utilization averaged over an interval. */
  private leaseMs = 0;
  private leaseMark: number;
  private lastObservation: { at: number; leaseMs: number };
  /** Grant waits since the last scaler observation (ms), bounded. */
  private windowWaits: number[] = [];
  /**
   * Arrival rate for the scaler's Little's-law target: a 30 s window, shorter than the metrics' 60 s
   * one, so the estimate follows bursts (and the stabilisation window's max over it holds capacity
   * through a wave instead of shedding it) — the setting the scaling benchmark evaluates.
   */
  private readonly arrivals: RateCounter;

  constructor(type: string, now: number) {
    this.metrics = new PoolMetrics({ pool: type, type, startMs: now });
    this.arrivals = new RateCounter({ windowMs: 30_000, buckets: 30, startMs: now });
    this.leaseMark = now;
    this.lastObservation = { at: now, leaseMs: 0 };
  }

  /** One arrival of work (an acquire, or a task submitted for this pool). */
  arrival(at: number): void {
    this.metrics.recordRequest(at);
    this.arrivals.add(at);
  }

  /** Advance the lease integral to `now` with `leased` leases held since the last mark. */
  markLeases(now: number, leased: number): void {
    this.leaseMs += leased * (now - this.leaseMark);
    this.leaseMark = now;
  }

  /** A lease was granted after waiting `waitMs`. */
  granted(waitMs: number): void {
    this.waits.record(waitMs);
    this.metrics.recordWait(waitMs / 1000);
    if (this.windowWaits.length < 10_000) this.windowWaits.push(waitMs);
  }

  /** Close one metrics interval into the ring. */
  collect(now: number, counts: AgentCounts, queueDepth: number): PoolMetricsSample {
    this.metrics.setAgents(counts);
    this.metrics.setQueueDepth(queueDepth);
    return this.metrics.collect(now);
  }

  /** A metrics snapshot. */
  snapshot(now: number, counts: AgentCounts, queueDepth: number): PoolMetricsSnapshot {
    this.metrics.setAgents(counts);
    this.metrics.setQueueDepth(queueDepth);
    return this.metrics.snapshot(now);
  }

  /**
   * What the scaler sees: counts now, utilization averaged since the last observation (call
   * {@link markLeases} first), the p90 of the waits granted since then or the age of whoever still
   * waits, and the arrival rate.
   */
  observe(now: number, c: AgentCounts, concurrency: number, waiting: Waiting): ScalingObservation {
    const dt = now - this.lastObservation.at;
    const capacity = Math.max(1, c.available + c.busy) * concurrency;
    const utilization =
      dt > 0
        ? Math.min(1, (this.leaseMs - this.lastObservation.leaseMs) / (dt * capacity))
        : c.busy / capacity;
    this.lastObservation = { at: now, leaseMs: this.leaseMs };
    const oldest = waiting.oldestAt === undefined ? 0 : now - waiting.oldestAt;
    return {
      now,
      size: c.total,
      ready: c.available + c.busy,
      busy: c.busy,
      starting: c.starting,
      waiters: waiting.count,
      utilization,
      waitMs: Math.max(this.takeWindowP90(), oldest),
      arrivalRatePerS: this.arrivals.perSecond(now),
      meanServiceMs: this.metrics.meanServiceSeconds * 1000,
      ...(waiting.rateLimited ? { rateLimited: waiting.rateLimited } : {}),
      ...(waiting.startRateLimitPerS ? { startRateLimitPerS: waiting.startRateLimitPerS } : {}),
    };
  }

  private takeWindowP90(): number {
    const w = this.windowWaits.sort((a, b) => a - b);
    this.windowWaits = [];
    return w.length === 0 ? 0 : (w[Math.min(w.length - 1, Math.floor(0.9 * w.length))] ?? 0);
  }
}
