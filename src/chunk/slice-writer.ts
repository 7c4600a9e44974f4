/**
 * SliceWriter over the shared BlockUploader: appends are copied into the current block
 * buffer; each full block is handed to the uploader at once, the short tail at finish().
 *
 * Invariants:
 * - every block but the last is exactly blockSize bytes (the key format depends on it), so a
 *   partial block is never uploaded before finish();
 * - appends and finish run one at a time in call order (an internal chain), whatever the
 *   caller awaits;
 * - after the first failed upload the slice is dead: later uploads are cancelled, its
 *   buffered block is dropped, and append/finish reject with that first error. A slice is
 *   reported finished only when every one of its blocks has been stored.
 */
import { setMaxListeners } from 'node:events';
import type { SliceWriter } from './types.js';
import type { BlockUploader } from './block-uploader.js';
import { CHUNK_SIZE, blockKey } from './keys.js';
import { allocBlockWithHeaderRoom, copyBehindHeaderRoom } from './raw-block.js';

/** First allocation of the first block of a slice: small slices do not cost a whole block of RAM. */
const INITIAL_BLOCK_BYTES = 64 * 1024;

type WriterState = 'open' | 'finishing' | 'finished' | 'aborted';

/** A slice being written; see the module comment for its invariants. */
export class BufferedSliceWriter implements SliceWriter {
  readonly id: number;
  readonly #uploader: BlockUploader;
  readonly #blockSize: number;
  /** Blocks go to the write-back stage instead of the store. */
  readonly #staged: boolean;
  /** Aborts this slice's waits and uploads; every queued block listens on it, so no listener cap. */
  readonly #ac = (() => {
    const ac = new AbortController();
    setMaxListeners(0, ac.signal);
    return ac;
  })();
  readonly #uploads: Promise<void>[] = [];
  #state: WriterState = 'open';
  /** The first upload error (or the abort reason): once set, the slice can never finish. */
  #error: unknown;
  /** Bytes copied into blocks so far. */
  #length = 0;
  /** Bytes of appends accepted (queued included), for the CHUNK_SIZE limit. */
  #accepted = 0;
  #block: Buffer | undefined;
  #fill = 0;
  #blockIndex = 0;
  #tail: Promise<void> = Promise.resolve();

  constructor(id: number, uploader: BlockUploader, blockSize: number, staged = false) {
    if (!Number.isSafeInteger(id) || id < 1) throw new RangeError(`slice id ${id} is not an integer in [1, 2^53)`);
    this.id = id;
    this.#uploader = uploader;
    this.#blockSize = blockSize;
    this.#staged = staged;
  }

  get length(): number {
    return this.#length;
  }

  append(data: Buffer): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#stateError('append to'));
    if (this.#accepted + data.length > CHUNK_SIZE) {
      return Promise.reject(new RangeError(
        `slice ${this.id}: appending ${data.length} bytes to ${this.#accepted} would exceed the ${CHUNK_SIZE}-byte chunk`));
    }
    this.#accepted += data.length;
    return this.#enqueue(() => this.#append(data));
  }

  finish(): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(this.#stateError('finish'));
    this.#state = 'finishing';
    return this.#enqueue(async () => {
      this.#throwIfFailed();
      if (this.#fill > 0) this.#dispatch();
      await Promise.allSettled(this.#uploads);
      this.#throwIfFailed();
      this.#state = 'finished';
    });
  }

  abort(): void {
    if (this.#state === 'finished' || this.#state === 'aborted') return;
    this.#state = 'aborted';
    this.#fail(new DOMException(`slice ${this.id} was aborted`, 'AbortError'));
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(step);
    this.#tail = run.then(() => undefined, () => undefined);
    return run;
  }

  async #append(data: Buffer): Promise<void> {
    let off = 0;
    while (off < data.length) {
      this.#throwIfFailed();
      if (this.#block === undefined) await this.#startBlock(data.length - off);
      const block = this.#growTo(Math.min(this.#blockSize, this.#fill + data.length - off));
      const n = Math.min(data.length - off, this.#blockSize - this.#fill);
      data.copy(block, this.#fill, off, off + n);
      this.#fill += n;
      this.#length += n;
      off += n;
      if (this.#fill === this.#blockSize) this.#dispatch();
    }
  }

  /** Reserves a block of budget (waiting if the buffer is full) and allocates its buffer. */
  async #startBlock(want: number): Promise<void> {
    await this.#uploader.reserve(this.#blockSize, this.#ac.signal);
    if (this.#error !== undefined) {
      // Failed or aborted while the reservation was being granted.
      this.#uploader.unreserve(this.#blockSize);
      this.#throwIfFailed();
    }
    // After the first block the writer is streaming: allocate whole blocks, no regrowth.
    const size = this.#blockIndex > 0 ? this.#blockSize : Math.min(this.#blockSize, Math.max(INITIAL_BLOCK_BYTES, want));
    this.#block = allocBlockWithHeaderRoom(size);
    this.#fill = 0;
  }

  /** The current block, reallocated (doubling, capped at blockSize) to hold `need` bytes. */
  #growTo(need: number): Buffer {
    const block = this.#block as Buffer;
    if (block.length >= need) return block;
    const grown = allocBlockWithHeaderRoom(Math.min(this.#blockSize, Math.max(need, block.length * 2)));
    block.copy(grown, 0, 0, this.#fill);
    this.#block = grown;
    return grown;
  }

  /** Hands the current block (full, or the tail) to the uploader. */
  #dispatch(): void {
    const buf = this.#block as Buffer;
    const len = this.#fill;
    // The cache keeps the buffer: give it one of exactly the block's size (with the header
    // room that lets the codec worker take it without a copy).
    const block = buf.length === len ? buf : copyBehindHeaderRoom(buf.subarray(0, len));
    const key = blockKey(this.id, this.#blockIndex, len);
    this.#block = undefined;
    this.#fill = 0;
    this.#blockIndex++;
    this.#uploader.unreserve(this.#blockSize - len);
    const upload = this.#uploader.upload(key, block, len, this.#ac.signal, this.#staged);
    upload.catch((err: unknown) => this.#fail(err));
    this.#uploads.push(upload);
  }

  /** Records the first failure, cancels this slice's other uploads and drops its partial block. */
  #fail(err: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = err;
    this.#ac.abort(err);
    if (this.#block !== undefined) {
      this.#block = undefined;
      this.#fill = 0;
      this.#uploader.unreserve(this.#blockSize);
    }
  }

  #throwIfFailed(): void {
    if (this.#error !== undefined) throw this.#error;
  }

  /** Why an append/finish is refused: the slice's failure if it failed, else its state. */
  #stateError(what: string): unknown {
    if (this.#error !== undefined) return this.#error;
    return new Error(`cannot ${what} slice ${this.id}: it is already ${this.#state}`);
  }
}
