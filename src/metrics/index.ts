/**
 * Metrics contract: one Metrics object per process (or per embedded volume), created by the
 * composition root and passed to the layers that record. Nothing uses prom-client's global
 * registry. Every name is declared in names.ts and documented in docs/metrics.md.
 */
export { Metrics, type MetricSet, type MetricsOptions } from './metrics.js';
export { METRIC_DEFS, metricsMarkdownTable, type MetricDef, type MetricKey, type MetricType } from './names.js';
export { MetricsServer, parseListenAddress, DEFAULT_METRICS_ADDRESS, type ListenAddress } from './server.js';
export { REQUEST_PRICE_PER_1000, requestCost } from './cost.js';
