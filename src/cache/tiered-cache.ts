/**
 * Two BlockCaches as one (Mountpoint's multilevel cache): a small fast L1 (memory) over a
 * large slower L2 (disk). A block read from L2 is promoted into L1. Since blocks are
 * immutable, the tiers never disagree about a block's bytes, only about whether they hold it.
 */
import type { BlockCache, CacheUsage } from './types.js';

/** Usage of each tier of a TieredCache. */
export interface TierUsage {
  readonly l1: CacheUsage;
  readonly l2: CacheUsage;
}

/** A BlockCache made of an L1 consulted first and an L2 behind it. */
export class TieredCache implements BlockCache {
  readonly #l1: BlockCache;
  readonly #l2: BlockCache;
  /** L2 puts still running: put() does not wait for them, close() and idle() do. */
  readonly #l2Puts = new Set<Promise<void>>();

  constructor(l1: BlockCache, l2: BlockCache) {
    this.#l1 = l1;
    this.#l2 = l2;
  }

  /** L1, else L2; an L2 hit is copied into L1 before it is returned. */
  async get(key: string): Promise<Buffer | undefined> {
    const hot = await this.#l1.get(key);
    if (hot !== undefined) return hot;
    const warm = await this.#l2.get(key);
    if (warm !== undefined) await this.#l1.put(key, warm);
    return warm;
  }

  /**
   * Resolves once L1 has the block; the L2 write (a disk file) continues in the background,
   * so a reader that fetched the block is not held up by the disk. Never rejects for L2.
   */
  async put(key: string, data: Buffer): Promise<void> {
    const l2 = this.#l2.put(key, data).catch(() => undefined); // BlockCache.put swallows I/O errors already
    this.#l2Puts.add(l2);
    void l2.finally(() => this.#l2Puts.delete(l2));
    await this.#l1.put(key, data);
  }

  async delete(key: string): Promise<void> {
    await Promise.all([this.#l1.delete(key), this.#l2.delete(key)]);
  }

  hasInMemory(key: string): boolean {
    return this.#l1.hasInMemory?.(key) ?? false;
  }

  async has(key: string): Promise<boolean> {
    return await this.#l1.has(key) || await this.#l2.has(key);
  }

  /** Both tiers added up: a block held by both counts twice (see tiers()). */
  usage(): CacheUsage {
    const { l1, l2 } = this.tiers();
    return { bytes: l1.bytes + l2.bytes, entries: l1.entries + l2.entries };
  }

  /** Usage of each tier. */
  tiers(): TierUsage {
    return { l1: this.#l1.usage(), l2: this.#l2.usage() };
  }

  /**
   * Resizes L2, the tier whose size the user's cache-size option bounds. The L1 bound is a
   * separate setting: resize the L1 cache object directly.
   */
  resize(maxBytes: number): void {
    this.#l2.resize(maxBytes);
  }

  /** Resolves when the L2 puts started so far have finished (tests, flush before a report). */
  async idle(): Promise<void> {
    while (this.#l2Puts.size > 0) await Promise.all(this.#l2Puts);
  }

  /** Waits for background L2 puts, then closes both tiers. */
  async close(): Promise<void> {
    await this.idle();
    await Promise.all([this.#l1.close(), this.#l2.close()]);
  }
}
