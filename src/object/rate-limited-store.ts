/**
 * Decorator that limits the bytes per second sent by put (upload) and received by get
 * (download). Limits change live (configuration reload); 0 is unlimited. A get is charged
 * after it returns (its size is known only then), so a limit shapes the average rate, not
 * each request.
 */
import { inspect } from 'node:util';
import type { GetOptions, ListOptions, ObjectInfo, ObjectPage, ObjectStore, PutOptions } from './types.js';
import { TokenBucket } from './token-bucket.js';

export interface RateLimits {
  /** Bytes per second sent by puts; 0 = unlimited. */
  readonly uploadBytesPerSecond: number;
  /** Bytes per second received by gets; 0 = unlimited. */
  readonly downloadBytesPerSecond: number;
}

export class RateLimitedStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #upload = new TokenBucket();
  readonly #download = new TokenBucket();

  constructor(inner: ObjectStore, limits: RateLimits) {
    this.#inner = inner;
    this.setLimits(limits);
  }

  setLimits(limits: RateLimits): void {
    this.#upload.setRate(limits.uploadBytesPerSecond);
    this.#download.setRate(limits.downloadBytesPerSecond);
  }

  limits(): RateLimits {
    return { uploadBytesPerSecond: this.#upload.bytesPerSecond, downloadBytesPerSecond: this.#download.bytesPerSecond };
  }

  describe(): string {
    return this.#inner.describe();
  }

  toJSON(): string {
    return this.describe();
  }

  [inspect.custom](): string {
    return `RateLimitedStore(${this.describe()})`;
  }

  async get(key: string, options?: GetOptions): Promise<Buffer> {
    const data = await this.#inner.get(key, options);
    await this.#download.take(data.length, options?.signal);
    return data;
  }

  async put(key: string, data: Buffer, options?: PutOptions): Promise<void> {
    await this.#upload.take(data.length, options?.signal);
    return this.#inner.put(key, data, options);
  }

  delete(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.#inner.delete(key, options);
  }

  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined> {
    return this.#inner.head(key, options);
  }

  list(options?: ListOptions): Promise<ObjectPage> {
    return this.#inner.list(options);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
