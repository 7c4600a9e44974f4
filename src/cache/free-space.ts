/**
 * Watching the free space of a DiskCache's file system: statfs at most every `checkMs` while
 * writing, and also after 64 MiB written since the last look (or half the room the last look
 * found above the ratio, if that is less: small file systems fill faster than the clock).
 * Below `freeRatio` free, the cache declines puts and evicts what brings it back up.
 */
import { statfs } from 'node:fs/promises';

/** A check is due after this many bytes written since the last one (or less, see above). */
const CHECK_BYTES = 64 * 1024 * 1024;

export class FreeSpace {
  readonly #dir: string;
  readonly #freeRatio: number;
  readonly #checkMs: number;
  #low = false;
  #lastCheck = 0;
  #writtenSince = 0;
  /** Bytes that may be written before the next statfs is due. */
  #checkAfterBytes = 0;
  #check: Promise<void> | undefined;

  constructor(dir: string, freeRatio: number, checkMs: number) {
    this.#dir = dir;
    this.#freeRatio = freeRatio;
    this.#checkMs = checkMs;
  }

  /** Whether the last check found less free space than the ratio. */
  get low(): boolean {
    return this.#low;
  }

  /** The check in flight, if any (close waits for it). */
  get running(): Promise<void> | undefined {
    return this.#check;
  }

  get due(): boolean {
    return Date.now() - this.#lastCheck >= this.#checkMs || this.#writtenSince >= this.#checkAfterBytes;
  }

  wrote(bytes: number): void {
    this.#writtenSince += bytes;
  }

  /**
   * statfs now (one check at a time); below the ratio, `free(bytes)` is asked to give back that
   * much. A failed statfs calls `failed` and changes nothing.
   */
  check(free: (bytes: number) => Promise<void>, failed: () => void): Promise<void> {
    this.#check ??= this.#run(free, failed).finally(() => { this.#check = undefined; });
    return this.#check;
  }

  async #run(free: (bytes: number) => Promise<void>, failed: () => void): Promise<void> {
    this.#lastCheck = Date.now();
    this.#writtenSince = 0;
    let st: { bsize: number; blocks: number; bavail: number };
    try {
      st = await statfs(this.#dir);
    } catch {
      failed();
      return;
    }
    const missingBlocks = Math.ceil(this.#freeRatio * st.blocks) - st.bavail;
    this.#low = missingBlocks > 0;
    this.#checkAfterBytes = Math.min(CHECK_BYTES, Math.max(0, -missingBlocks * st.bsize / 2));
    if (missingBlocks > 0) await free(missingBlocks * st.bsize);
  }
}
