/**
 * The metrics of one ObjectFS process (or one volume in an embedding program): a prom-client
 * Registry of its own (never the global default, so tests can open many volumes in one
 * process) holding every metric of names.ts. Layers receive this object and record into it;
 * they never create metrics themselves.
 *
 * Gauges and counters whose truth lives in a component (cache sizes, the upload queue) are
 * filled at scrape time by collectors the composition root registers with onCollect.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { requestCost } from './cost.js';
import { METRIC_DEFS, type MetricKey } from './names.js';

type Def<K extends MetricKey> = (typeof METRIC_DEFS)[K];
type LabelsOf<K extends MetricKey> = Def<K>['labels'][number];
type Instrument<K extends MetricKey> =
  Def<K>['type'] extends 'counter' ? Counter<LabelsOf<K>>
    : Def<K>['type'] extends 'gauge' ? Gauge<LabelsOf<K>>
      : Histogram<LabelsOf<K>>;

/** Every metric of names.ts, by its key. */
export type MetricSet = { readonly [K in MetricKey]: Instrument<K> };

/** Latency buckets in seconds: FUSE and metadata operations take from tens of µs to seconds. */
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface MetricsOptions {
  /** Also export Node's process_* and nodejs_* metrics (default true). */
  readonly processMetrics?: boolean;
}

export class Metrics {
  readonly registry: Registry;
  readonly m: MetricSet;
  readonly #collectors = new Set<() => void>();
  /** Last total seen per mirrored counter and label set (syncCounter). */
  readonly #mirrored = new WeakMap<Counter<string>, Map<string, number>>();

  constructor(options: MetricsOptions = {}) {
    this.registry = new Registry();
    const built: Record<string, unknown> = {};
    for (const [key, d] of Object.entries(METRIC_DEFS)) {
      const config = { name: d.name, help: d.help, labelNames: [...d.labels], registers: [this.registry] };
      built[key] = d.type === 'counter' ? new Counter(config)
        : d.type === 'gauge' ? new Gauge(config)
          : new Histogram({ ...config, buckets: LATENCY_BUCKETS });
    }
    this.m = Object.freeze(built) as unknown as MetricSet;
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Runs `collect` before every scrape; returns a function that removes it. */
  onCollect(collect: () => void): () => void {
    this.#collectors.add(collect);
    return () => { this.#collectors.delete(collect); };
  }

  /** The exposition text (Prometheus text format 0.0.4), collectors run first. */
  async text(): Promise<string> {
    for (const collect of this.#collectors) {
      try {
        collect();
      } catch {
        // A broken collector must not take the whole endpoint down; its series just stay stale.
      }
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Brings a counter up to `total`, a cumulative count kept by a component (cache stats). A
   * total below the last one seen (the component was replaced) restarts the mirror there.
   */
  syncCounter(counter: Counter<string>, labels: Record<string, string>, total: number): void {
    let series = this.#mirrored.get(counter);
    if (series === undefined) this.#mirrored.set(counter, (series = new Map()));
    const key = JSON.stringify(labels);
    const last = series.get(key) ?? 0;
    if (total > last) counter.inc(labels, total - last);
    series.set(key, total);
  }

  /** One answered FUSE operation; `errno` 0 for success, else its name comes from `errnoName`. */
  fuseOp(op: string, seconds: number, errno: string | undefined): void {
    this.m.fuseOps.inc({ op });
    this.m.fuseOpSeconds.observe({ op }, seconds);
    if (errno !== undefined) this.m.fuseOpErrors.inc({ op, errno });
  }

  /** One metadata transaction or statement, with how many times it was rerun. */
  metaTx(kind: 'transaction' | 'statement', seconds: number, restarts: number, failed: boolean): void {
    this.m.metaTxSeconds.observe({ kind }, seconds);
    if (restarts > 0) this.m.metaTxRestarts.inc({ kind }, restarts);
    if (failed) this.m.metaTxErrors.inc({ kind });
  }

  /** One object store request. */
  objectRequest(method: string, seconds: number, bytes: number, failed: boolean): void {
    this.m.objectRequests.inc({ method });
    this.m.objectRequestSeconds.observe({ method }, seconds);
    this.m.objectRequestCost.inc({ method }, requestCost(method));
    if (bytes > 0) this.m.objectRequestBytes.inc({ method }, bytes);
    if (failed) this.m.objectRequestErrors.inc({ method });
  }
}
