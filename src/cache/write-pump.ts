/**
 * The writes of a DiskCache: puts wait in a queue bounded by the bytes they hold and run a few
 * at a time; each block file is written under a temporary name and renamed, so a file under a
 * key's name is always complete (there is no fsync: a crash can still leave a renamed file
 * whose data never reached the disk, which the header's length and crc catch on the next get).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { encodeBlockHeader } from './block-file.js';

export interface PendingWrite {
  readonly key: string;
  readonly data: Buffer;
  /** Bytes of the file: header + data. */
  readonly size: number;
  /** Set by delete() while the write runs: the file is removed again instead of indexed. */
  cancelled: boolean;
  readonly done: Promise<void>;
  readonly resolve: () => void;
}

export class WritePump {
  readonly #concurrency: number;
  readonly #maxPendingBytes: number;
  readonly #write: (w: PendingWrite) => Promise<void>;
  readonly #pending = new Map<string, PendingWrite>();
  readonly #queue: PendingWrite[] = [];
  #running = 0;
  #pendingBytes = 0;

  /** `write` writes one block file and never rejects. */
  constructor(concurrency: number, maxPendingBytes: number, write: (w: PendingWrite) => Promise<void>) {
    this.#concurrency = concurrency;
    this.#maxPendingBytes = maxPendingBytes;
    this.#write = write;
  }

  /** The write of `key` queued or running, if any. */
  get(key: string): PendingWrite | undefined {
    return this.#pending.get(key);
  }

  /** Queues a write; undefined (dropped) when the queued data would exceed maxPendingBytes. */
  enqueue(key: string, data: Buffer, size: number): PendingWrite | undefined {
    if (this.#pendingBytes + data.length > this.#maxPendingBytes) return undefined;
    let resolve!: () => void;
    const done = new Promise<void>((r) => { resolve = r; });
    const write: PendingWrite = { key, data, size, cancelled: false, done, resolve };
    this.#pending.set(key, write);
    this.#pendingBytes += data.length;
    this.#queue.push(write);
    this.#pump();
    return write;
  }

  /** Settles when every write queued or running now is done (empty: nothing is). */
  inFlight(): Promise<void>[] {
    return [...this.#pending.values()].map((w) => w.done);
  }

  #pump(): void {
    while (this.#running < this.#concurrency) {
      const write = this.#queue.shift();
      if (write === undefined) return;
      this.#running++;
      void this.#write(write).finally(() => {
        this.#running--;
        this.#pendingBytes -= write.data.length;
        if (this.#pending.get(write.key) === write) this.#pending.delete(write.key);
        write.resolve();
        this.#pump();
      });
    }
  }
}

/**
 * Writes header + data to a temp file next to `path` and renames it over `path`: three calls
 * on the thread pool in the common case (open, writev, close, then the rename); the directory
 * is made only when the open finds it missing.
 */
export async function writeBlockFile(path: string, data: Buffer): Promise<void> {
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    const fh = await openNew(tmp);
    try {
      await writeAll(fh, [encodeBlockHeader(data), data]);
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined); // may not exist; a leftover is removed at next open
    throw err;
  }
}

async function openNew(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(dirname(path), { recursive: true });
    return open(path, 'wx', 0o600);
  }
}

/**
 * `bufs` one after another from offset 0, in one writev; a short write (e.g. just before
 * ENOSPC) is finished piece by piece.
 */
async function writeAll(fh: FileHandle, bufs: readonly Buffer[]): Promise<void> {
  let { bytesWritten: left } = await fh.writev(bufs, 0);
  let position = 0;
  for (const buf of bufs) {
    for (let done = Math.min(left, buf.length); done < buf.length;) {
      const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
      done += bytesWritten;
    }
    left = Math.max(0, left - buf.length);
    position += buf.length;
  }
}
