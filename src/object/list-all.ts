/**
 * Streams a whole listing page by page, so callers (gc, fsck, format's emptiness check) can
 * walk millions of keys while holding one page.
 */
import type { ObjectInfo, ObjectStore } from './types.js';
import { ObjectStoreError } from './errors.js';

/** Options of listAll beyond the prefix. */
export interface ListAllOptions {
  /** Page size asked of the store (default: the store's, 1000). */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

/**
 * Every object under `prefix` in ascending key order.
 *
 * @example
 * for await (const o of listAll(store, 'vol/chunks/')) total += o.size;
 */
export async function* listAll(store: ObjectStore, prefix?: string, options: ListAllOptions = {}): AsyncGenerator<ObjectInfo, void, undefined> {
  let token: string | undefined;
  do {
    const page = await store.list({ prefix, token, limit: options.limit, signal: options.signal });
    yield* page.objects;
    // A store handing back the token it was given would loop forever; fail loudly instead.
    if (page.next !== undefined && page.next === token) {
      throw new ObjectStoreError(`${store.describe()} returned the same list token twice`);
    }
    token = page.next;
  } while (token !== undefined);
}
