/**
 * A map whose entries expire, with a bound on how many it keeps (the least recently set goes
 * first): the short-lived knowledge the vfs keeps (vfs/missing-names.ts, vfs/no-capability.ts).
 * Every operation is O(1) on a Map.
 *
 * Not lru-cache (which keeps the block cache): it allocates arrays the size of its bound, and a
 * delete of its last entry clears them all, 20 µs of the JavaScript thread at a bound of 4,096
 * and 1.3 ms at 262,144; a create in a fresh directory (one missing name learnt, then dropped)
 * or another host's notice of the one inode known paid that every time (decision 105).
 */

/** A clock in milliseconds (tests pass their own). */
export interface Clock {
  now(): number;
}

interface Entry<V> {
  readonly value: V;
  readonly setAt: number;
  readonly ttlMs: number;
}

export class ExpiringMap<K, V> {
  readonly #entries = new Map<K, Entry<V>>();
  readonly #max: number;
  readonly #clock: Clock;

  constructor(max: number, clock: Clock = performance) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`bound ${max} is not a positive integer`);
    this.#max = max;
    this.#clock = clock;
  }

  /** The value, unless it is missing or older than its ttl (then it is dropped). */
  get(key: K): V | undefined {
    const e = this.#entries.get(key);
    if (e === undefined) return undefined;
    if (this.#clock.now() - e.setAt > e.ttlMs) {
      this.#entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  has(key: K): boolean {
    return this.get(key) !== undefined;
  }

  /** Sets `key` for `ttlMs` as the most recent entry; past the bound, the least recent goes. */
  set(key: K, value: V, ttlMs: number): void {
    this.#entries.delete(key); // a Map iterates in insertion order: re-inserted, it is the newest
    this.#entries.set(key, { value, setAt: this.#clock.now(), ttlMs });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value as K);
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }

  clear(): void {
    this.#entries.clear();
  }

  /** Entries held, expired ones not yet looked at included. */
  get size(): number {
    return this.#entries.size;
  }
}
