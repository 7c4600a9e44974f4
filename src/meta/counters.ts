/**
 * Usage counters (bytes used, inodes used). Operations add deltas in memory; a timer writes
 * them to the database about once a second, so no POSIX operation pays a round trip for them.
 * Counters are approximate between flushes and after a crash (fsck recomputes them).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/index.js';

/** Space is accounted in 4 KiB units, as the kernel reports blocks. */
export function alignedSpace(length: number): number {
  return Math.ceil(length / 4096) * 4096;
}

export class UsageCounters {
  readonly #db: Kysely<Database>;
  #space = 0;
  #inodes = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(db: Kysely<Database>, flushMs: number) {
    this.#db = db;
    if (flushMs > 0) {
      this.#timer = setInterval(() => { void this.flush().catch(() => undefined); }, flushMs);
      this.#timer.unref();
    }
  }

  add(spaceDelta: number, inodeDelta: number): void {
    this.#space += spaceDelta;
    this.#inodes += inodeDelta;
  }

  /** Deltas not yet written (statfs adds them to the stored values). */
  pending(): { space: number; inodes: number } {
    return { space: this.#space, inodes: this.#inodes };
  }

  /** Writes the accumulated deltas; on failure they are kept for the next flush. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      const space = this.#space;
      const inodes = this.#inodes;
      if (space === 0 && inodes === 0) return;
      this.#space -= space;
      this.#inodes -= inodes;
      try {
        await sql`UPDATE counter SET value = value + CASE name WHEN 'used_space' THEN ${space}::int8 ELSE ${inodes}::int8 END
                  WHERE name IN ('used_space', 'used_inodes')`.execute(this.#db);
      } catch (err) {
        this.#space += space;
        this.#inodes += inodes;
        throw err;
      }
    });
    return this.#flushing;
  }

  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
