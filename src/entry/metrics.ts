/**
 * `agentpool/metrics`: histograms, time-series rings, rate counters, the per-pool collector, the
 * Prometheus text format and its HTTP endpoint (`serveMetrics` is also in the root entry).
 */
export * from '../metrics/index.js';
export * from '../metrics/http-endpoint.js';
