/**
 * Decorator that records every request of an inner store into the process's Metrics: count,
 * bytes (sent by put, received by get), latency, failures and an estimated cost, by method.
 * Sits directly over the volume's store, so each call here is one request the operator pays
 * for (the S3 client's own retries are inside it and not counted separately).
 */
import { inspect } from 'node:util';
import type { Metrics } from '../metrics/index.js';
import type { GetOptions, ListOptions, ObjectInfo, ObjectPage, ObjectStore, PutOptions } from './types.js';

export class MetricsStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #metrics: Metrics;

  constructor(inner: ObjectStore, metrics: Metrics) {
    this.#inner = inner;
    this.#metrics = metrics;
  }

  describe(): string {
    return this.#inner.describe();
  }

  toJSON(): string {
    return this.describe();
  }

  [inspect.custom](): string {
    return `MetricsStore(${this.describe()})`;
  }

  get(key: string, options?: GetOptions): Promise<Buffer> {
    return this.#record('get', () => this.#inner.get(key, options), (data) => data.length);
  }

  put(key: string, data: Buffer, options?: PutOptions): Promise<void> {
    return this.#record('put', () => this.#inner.put(key, data, options), () => data.length);
  }

  delete(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.#record('delete', () => this.#inner.delete(key, options), () => 0);
  }

  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined> {
    return this.#record('head', () => this.#inner.head(key, options), () => 0);
  }

  list(options?: ListOptions): Promise<ObjectPage> {
    return this.#record('list', () => this.#inner.list(options), () => 0);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #record<T>(method: string, call: () => Promise<T>, bytes: (value: T) => number): Promise<T> {
    const start = performance.now();
    try {
      const value = await call();
      this.#metrics.objectRequest(method, (performance.now() - start) / 1000, bytes(value), false);
      return value;
    } catch (err) {
      this.#metrics.objectRequest(method, (performance.now() - start) / 1000, 0, true);
      throw err;
    }
  }
}
