/**
 * lz4 off the main thread, on one worker thread started on first use (lz4-worker.ts explains
 * why not lz4-napi's own async calls). Inputs are copied into a transferred ArrayBuffer (behind
 * free bytes for the raw-block header when compressing), so the caller's buffer is never
 * shared with the worker, except a block to compress that its caller gives up (`consume`) and
 * that already sits behind header room alone in its ArrayBuffer (raw-block.ts), and a raw block
 * object to sum that is alone in its ArrayBuffer: that memory is transferred as it is, and comes
 * back as the block's bytes for the caller to keep. An lz4 object to decompress that its caller
 * gives up, alone in its ArrayBuffer (a fetched body), is transferred too, and not given back.
 * Outputs come back transferred, no copy.
 * The worker does not keep the process alive while idle, and a worker that dies fails the calls
 * in flight and is started again by the next call.
 */
import { Worker } from 'node:worker_threads';
import type { Lz4Reply, Lz4Request } from './lz4-worker.js';
import { copyBehindHeaderRoom, hasHeaderRoom, ownsItsMemory, RAW_HEADER_BYTES } from './raw-block.js';
import { tellCrc32 } from '../util/known-crc.js';

interface Result {
  readonly bytes: Buffer;
  readonly sha256: string | undefined;
  readonly crc: number | undefined;
  /** compress of a block whose memory was taken: the block's bytes, where they are now. */
  readonly data?: Buffer;
}

interface Pending {
  /** The input was the caller's own memory, transferred, and comes back in the reply. */
  readonly taken: boolean;
  resolve(result: Result): void;
  reject(err: Error): void;
}

class Lz4Thread {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  run(op: Lz4Request['op'], data: Uint8Array, consume = false): Promise<Result> {
    const worker = this.#worker ?? this.#start();
    const taken = op === 'sum' || (op === 'compress' && consume && hasHeaderRoom(data));
    const given = op === 'uncompress' && consume && ownsItsMemory(data);
    const input = taken || given ? data.buffer as ArrayBuffer
      : (op === 'compress' ? copyBehindHeaderRoom(data) : ownCopy(data)).buffer as ArrayBuffer;
    const id = this.#nextId++;
    return new Promise<Result>((resolve, reject) => {
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, { taken, resolve, reject });
      const request: Lz4Request = { id, op, input };
      worker.postMessage(request, [input]);
    });
  }

  #start(): Worker {
    const worker = new Worker(new URL('./lz4-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (reply: Lz4Reply) => {
      const p = this.#pending.get(reply.id);
      if (p === undefined) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      if (!('output' in reply)) p.reject(new Error(reply.error));
      else {
        const bytes = Buffer.from(reply.output);
        if (!p.taken) p.resolve({ bytes, sha256: reply.sha256, crc: reply.crc });
        else {
          // The block's memory came back: as the raw object itself, or handed back beside lz4's output.
          const data = reply.input === undefined ? bytes.subarray(RAW_HEADER_BYTES) : Buffer.from(reply.input, RAW_HEADER_BYTES);
          p.resolve({ bytes, sha256: reply.sha256, crc: reply.crc, data });
        }
      }
    });
    const fail = (err: Error) => {
      if (this.#worker === worker) this.#worker = undefined;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the lz4 worker exited (code ${code})`)));
    this.#worker = worker;
    return worker;
  }
}

/** `data` copied into an unpooled ArrayBuffer of exactly its size (allocUnsafeSlow: not zero-filled first). */
function ownCopy(data: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(data.byteLength);
  copy.set(data);
  return copy;
}

const thread = new Lz4Thread();

/**
 * lz4-napi's `compress` format (4-byte little-endian length, then one LZ4 block), or the data
 * behind the raw-block header when lz4 would not shrink it; with the SHA-256 of that result.
 */
export async function lz4Compress<T extends Uint8Array>(data: T, consume = false): Promise<{ bytes: Buffer; sha256: string; data: T | Buffer }> {
  const result = await thread.run('compress', data, consume);
  // A consumed block's memory moved: its bytes are where the worker handed them back.
  const kept = result.data ?? data;
  // Summed on the worker: the disk cache's header for the block needs no sum here (util/known-crc.ts).
  if (result.crc !== undefined) tellCrc32(kept, result.crc);
  return { bytes: result.bytes, sha256: result.sha256 as string, data: kept };
}

/**
 * The CRC-32 of a raw block object's data (behind its header), summed on the worker. The
 * object's memory moves there and back (it must be alone in its ArrayBuffer: ownsItsMemory):
 * `object` is detached, and the result's `object` holds the same bytes.
 */
export async function sumRawBlock(object: Buffer): Promise<{ object: Buffer; crc: number }> {
  const { bytes, crc } = await thread.run('sum', object);
  return { object: bytes, crc: crc as number };
}

/**
 * The block lz4Compress stored (with or without the header of lz4-header.ts), and its CRC-32,
 * summed on the worker (for the caller to check, and told to util/known-crc.ts).
 * `consume`: the caller gives `stored` up; alone in its ArrayBuffer, it then moves to the
 * worker without a copy and is detached here.
 */
export async function lz4Uncompress(stored: Uint8Array, consume = false): Promise<{ bytes: Buffer; crc: number }> {
  const { bytes, crc } = await thread.run('uncompress', stored, consume);
  if (crc === undefined) throw new Error('the lz4 worker returned no CRC-32');
  tellCrc32(bytes, crc);
  return { bytes, crc };
}
