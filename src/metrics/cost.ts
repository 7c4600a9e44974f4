/**
 * Request prices behind objectfs_object_request_cost_dollars_total: Amazon S3 Standard, us-east-1,
 * per 1000 requests (PUT/COPY/POST/LIST $0.005; GET/HEAD and others $0.0004; DELETE free).
 * An estimate for comparing workloads, not a bill: other classes, regions and vendors differ,
 * and storage and transfer are not counted.
 */
export const REQUEST_PRICE_PER_1000: Readonly<Record<string, number>> = Object.freeze({
  put: 0.005,
  list: 0.005,
  get: 0.0004,
  head: 0.0004,
  delete: 0,
});

/** Estimated dollars of one request of `method`. */
export function requestCost(method: string): number {
  return (REQUEST_PRICE_PER_1000[method] ?? 0.0004) / 1000;
}
