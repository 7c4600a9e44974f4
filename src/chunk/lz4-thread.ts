/**
 * lz4 off the main thread, on one worker thread started on first use (lz4-worker.ts explains
 * why not lz4-napi's own async calls). Inputs are copied into a transferred ArrayBuffer (behind
 * free bytes for the raw-block header when compressing), so the caller's buffer is never
 * shared with the worker; outputs come back transferred, no copy.
 * The worker does not keep the process alive while idle, and a worker that dies fails the calls
 * in flight and is started again by the next call.
 */
import { Worker } from 'node:worker_threads';
import type { Lz4Reply, Lz4Request } from './lz4-worker.js';
import { RAW_HEADER_BYTES } from './raw-block.js';
import { tellCrc32 } from '../util/known-crc.js';

interface Result {
  readonly bytes: Buffer;
  readonly sha256: string | undefined;
  readonly crc: number | undefined;
}

interface Pending {
  resolve(result: Result): void;
  reject(err: Error): void;
}

class Lz4Thread {
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  run(op: Lz4Request['op'], data: Uint8Array): Promise<Result> {
    const worker = this.#worker ?? this.#start();
    const at = op === 'compress' ? RAW_HEADER_BYTES : 0;
    // allocUnsafeSlow: an unpooled ArrayBuffer of exactly this size, not zero-filled first.
    const input = Buffer.allocUnsafeSlow(at + data.byteLength).buffer;
    new Uint8Array(input, at).set(data);
    const id = this.#nextId++;
    return new Promise<Result>((resolve, reject) => {
      if (this.#pending.size === 0) worker.ref();
      this.#pending.set(id, { resolve, reject });
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
      if ('output' in reply) p.resolve({ bytes: Buffer.from(reply.output), sha256: reply.sha256, crc: reply.crc });
      else p.reject(new Error(reply.error));
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

const thread = new Lz4Thread();

/**
 * lz4-napi's `compress` format (4-byte little-endian length, then one LZ4 block), or the data
 * behind the raw-block header when lz4 would not shrink it; with the SHA-256 of that result.
 */
export async function lz4Compress(data: Uint8Array): Promise<{ bytes: Buffer; sha256: string }> {
  const { bytes, sha256, crc } = await thread.run('compress', data);
  // Summed on the worker: the disk cache's header for `data` needs no sum here (util/known-crc.ts).
  if (crc !== undefined) tellCrc32(data, crc);
  return { bytes, sha256: sha256 as string };
}

/** The block lz4Compress stored; its CRC-32, summed on the worker, is told to util/known-crc.ts. */
export async function lz4Uncompress(stored: Uint8Array): Promise<Buffer> {
  const { bytes, crc } = await thread.run('uncompress', stored);
  if (crc !== undefined) tellCrc32(bytes, crc);
  return bytes;
}
