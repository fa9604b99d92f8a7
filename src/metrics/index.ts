/** Metrics: histograms, time-series rings, rate counters, the per-pool collector and Prometheus text. */
export * from './histogram.js';
export * from './pool-metrics.js';
export * from './prometheus.js';
export * from './rate-counter.js';
export * from './time-series-ring.js';
