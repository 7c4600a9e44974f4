/**
 * Write-back bookkeeping of one vfs (decision 90): each slice committed as staged is followed
 * until the stage has uploaded every block of it; then its staged_slice row is deleted (batched:
 * the slices that became ready meanwhile go in one statement) and its stage files released.
 * fsync(2) waits here for its file's slices, so it still means "in the object store and
 * committed"; unmount waits for all.
 */
import type { ChunkStore } from '../chunk/index.js';
import type { MetaEngine } from '../meta/index.js';

/** Wait before a failed unstage statement is tried again (its own retries ran out). */
const UNSTAGE_RETRY_MS = 1000;

export class StagedUploads {
  readonly #meta: Pick<MetaEngine, 'unstageSlices'>;
  readonly #chunks: Pick<ChunkStore, 'sliceStored' | 'releaseStaged'>;
  /** Per inode, the slices on their way (resolved once unstaged and released). */
  readonly #byIno = new Map<number, Set<Promise<void>>>();
  /** Slices uploaded and waiting for the next unstage statement. */
  #ready: { id: number; done: () => void }[] = [];
  #unstaging: Promise<void> | undefined;

  constructor(meta: Pick<MetaEngine, 'unstageSlices'>, chunks: Pick<ChunkStore, 'sliceStored' | 'releaseStaged'>) {
    this.#meta = meta;
    this.#chunks = chunks;
  }

  /** Follows slice (id, size) of `ino`, just committed as staged. */
  track(ino: number, id: number, size: number): void {
    let set = this.#byIno.get(ino);
    if (set === undefined) {
      set = new Set();
      this.#byIno.set(ino, set);
    }
    const owner = set;
    const done = (async () => {
      await this.#chunks.sliceStored(id, size);
      await new Promise<void>((resolve) => {
        this.#ready.push({ id, done: resolve });
        this.#unstageSoon();
      });
      await this.#chunks.releaseStaged(id, size);
    })();
    owner.add(done);
    void done.finally(() => {
      owner.delete(done);
      if (owner.size === 0 && this.#byIno.get(ino) === owner) this.#byIno.delete(ino);
    });
  }

  /** Resolves once every slice of `ino` committed as staged so far is uploaded and unstaged. */
  async drained(ino: number): Promise<void> {
    const set = this.#byIno.get(ino);
    if (set !== undefined) await Promise.all([...set]);
  }

  /** Resolves once every slice tracked so far is uploaded and unstaged. */
  async drainedAll(): Promise<void> {
    while (this.#byIno.size > 0) await Promise.all([...this.#byIno.values()].flatMap((set) => [...set]));
  }

  /** One unstage statement at a time, for every slice ready when it starts. */
  #unstageSoon(): void {
    if (this.#unstaging !== undefined) return;
    this.#unstaging = (async () => {
      while (this.#ready.length > 0) {
        const batch = this.#ready;
        this.#ready = [];
        for (;;) {
          try {
            await this.#meta.unstageSlices(batch.map((r) => r.id));
            break;
          } catch {
            // PostgreSQL away longer than the statement's own retries: the rows stay, which only
            // makes other hosts wait; keep trying.
            await new Promise((resolve) => setTimeout(resolve, UNSTAGE_RETRY_MS).unref());
          }
        }
        for (const r of batch) r.done();
      }
    })().finally(() => { this.#unstaging = undefined; });
  }
}
