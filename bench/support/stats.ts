/** Latency statistics of a batch of timed operations (pure). */

export interface LatencySummary {
  /** Operations timed. */
  readonly n: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly minUs: number;
  readonly maxUs: number;
  /** Wall time of the whole batch (all workers), ms. */
  readonly wallMs: number;
  /** n / wall time: with one op in flight it is 1e6 / mean; with C in flight, the throughput. */
  readonly opsPerSec: number;
}

/** Nearest-rank percentile of ascending `sorted` (p in (0, 1]). */
export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Summary of per-operation latencies (ns) and the batch's wall time (ns). */
export function summarize(samplesNs: Float64Array, wallNs: number): LatencySummary {
  const n = samplesNs.length;
  const sorted = Float64Array.from(samplesNs).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const us = (ns: number): number => round(ns / 1000, 1);
  return {
    n,
    meanUs: us(n === 0 ? Number.NaN : sum / n),
    p50Us: us(percentile(sorted, 0.5)),
    p99Us: us(percentile(sorted, 0.99)),
    minUs: us(sorted[0] ?? Number.NaN),
    maxUs: us(sorted[n - 1] ?? Number.NaN),
    wallMs: round(wallNs / 1e6, 1),
    opsPerSec: round(n / (wallNs / 1e9), 1),
  };
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
