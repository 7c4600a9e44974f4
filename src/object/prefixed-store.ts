/**
 * Decorator that places every key of an inner store under a fixed prefix, e.g. one volume's
 * objects inside a shared bucket, or one test's objects inside the test bucket. Listing asks
 * the inner store for prefix + prefix-filter and strips the prefix again, so callers never
 * see it; list tokens are the inner store's and pass through unchanged.
 */
import { inspect } from 'node:util';
import type { GetOptions, ListOptions, ObjectInfo, ObjectPage, ObjectStore, PutOptions } from './types.js';
import { ObjectNotFoundError, ObjectStoreError } from './errors.js';

/** An ObjectStore that is `inner` seen through a key prefix. close() closes `inner`. */
export class PrefixedStore implements ObjectStore {
  readonly #inner: ObjectStore;
  readonly #prefix: string;

  /** `prefix` is used verbatim: pass 'vol/' (with the slash) for a directory-like layout. */
  constructor(inner: ObjectStore, prefix: string) {
    this.#inner = inner;
    this.#prefix = prefix;
  }

  /** The prefix this store adds. */
  get prefix(): string {
    return this.#prefix;
  }

  describe(): string {
    return `${this.#inner.describe()} + prefix "${this.#prefix}"`;
  }

  toJSON(): string {
    return this.describe();
  }

  [inspect.custom](): string {
    return `PrefixedStore(${this.describe()})`;
  }

  async get(key: string, options?: GetOptions): Promise<Buffer> {
    try {
      return await this.#inner.get(this.#prefix + key, options);
    } catch (err) {
      // Report the key the caller asked for, not the inner one.
      if (err instanceof ObjectNotFoundError) throw new ObjectNotFoundError(key, this.describe(), { cause: err });
      throw err;
    }
  }

  put(key: string, data: Buffer, options?: PutOptions): Promise<void> {
    return this.#inner.put(this.#prefix + key, data, options);
  }

  delete(key: string, options?: { signal?: AbortSignal }): Promise<void> {
    return this.#inner.delete(this.#prefix + key, options);
  }

  async head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined> {
    const info = await this.#inner.head(this.#prefix + key, options);
    return info && { ...info, key };
  }

  async list(options: ListOptions = {}): Promise<ObjectPage> {
    const page = await this.#inner.list({ ...options, prefix: this.#prefix + (options.prefix ?? '') });
    const objects = page.objects.map((o): ObjectInfo => {
      // The inner store filtered by our prefix; anything else is a bug there, not a key of ours.
      if (!o.key.startsWith(this.#prefix)) {
        throw new ObjectStoreError(`${this.#inner.describe()} listed "${o.key}" outside prefix "${this.#prefix}"`);
      }
      return { ...o, key: o.key.slice(this.#prefix.length) };
    });
    return page.next !== undefined ? { objects, next: page.next } : { objects };
  }

  close(): Promise<void> {
    return this.#inner.close();
  }
}
