/**
 * The lz4 worker thread (see lz4-thread.ts). It owns every call into lz4-napi: the library's
 * buffers come from the mimalloc heap of the thread that allocates them, and when they are
 * allocated on the libuv pool and freed on the main thread that allocator keeps hundreds of MiB
 * per pool thread. Here they are allocated and freed on this one thread; results cross back
 * copied into transferable ArrayBuffers.
 *
 * Compression gives up on data lz4 cannot shrink (media, archives, already-compressed
 * datasets): three 32 KiB samples are tried first, and a block whose samples or whole do not
 * shrink is returned raw, behind the raw-block header (raw-block.ts), in the very buffer it came in.
 * Compressed results are hashed here too (SHA-256, for S3's request signature), and raw blocks
 * read from the store are summed here (CRC-32) so that their check leaves the main thread.
 */
import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { crc32 } from 'node:zlib';
import { compressSync, uncompressSync } from 'lz4-napi';
import { RAW_HEADER_BYTES, writeRawHeader } from './raw-block.js';
import { hasLz4Header, LZ4_HEADER_BYTES, writeLz4Header } from './lz4-header.js';

export interface Lz4Request {
  readonly id: number;
  /** sum: only the CRC-32 of a raw block object's data, the object handed back as it came. */
  readonly op: 'compress' | 'uncompress' | 'sum';
  /** compress: RAW_HEADER_BYTES free bytes, then the data; uncompress and sum: the stored object. */
  readonly input: ArrayBuffer;
}

/**
 * `sha256` (hex) of the output, for compress: S3 signs uploads with it. `crc`: the CRC-32 of the
 * block's uncompressed bytes (compress: the input's, uncompress: the output's), for the disk
 * cache's file header (util/known-crc.ts).
 */
export type Lz4Reply =
  | {
    readonly id: number; readonly output: ArrayBuffer; readonly sha256: string | undefined; readonly crc?: number;
    /** compress, when `output` is not the input itself: the input, handed back (the caller's block may live in it). */
    readonly input?: ArrayBuffer;
  }
  | { readonly id: number; readonly error: string };

const SAMPLE = 32 << 10;
/** Samples must compress to at most this share of their size for the whole block to be tried. */
const SAMPLE_WORTH = 0.9;

const port = parentPort;
if (port === null) throw new Error('lz4-worker must run as a worker thread');

function samplesShrink(data: Buffer): boolean {
  if (data.length < 8 * SAMPLE) return true;
  let stored = 0;
  for (const at of [0, (data.length >> 1) - (SAMPLE >> 1), data.length - SAMPLE]) {
    stored += compressSync(data.subarray(at, at + SAMPLE)).length;
  }
  return stored <= 3 * SAMPLE * SAMPLE_WORTH;
}

/** The stored form of the data behind the header room, and the CRC-32 of that data. */
function compressInto(input: ArrayBuffer): { output: ArrayBuffer; crc: number } {
  const data = Buffer.from(input, RAW_HEADER_BYTES);
  if (samplesShrink(data)) {
    const packed = compressSync(data);
    if (packed.length < data.length || data.length === 0) {
      const crc = crc32(data);
      const output = copyOut(packed, LZ4_HEADER_BYTES);
      writeLz4Header(Buffer.from(output), crc);
      return { output, crc };
    }
  }
  const header = Buffer.from(input);
  writeRawHeader(header);
  return { output: input, crc: header.readUInt32LE(4) };
}

/** The block of an lz4 object, with or without its header (the caller checks the CRC). */
function uncompress(input: ArrayBuffer): ArrayBuffer {
  const object = Buffer.from(input);
  return copyOut(uncompressSync(hasLz4Header(object) ? object.subarray(LZ4_HEADER_BYTES) : object));
}

/**
 * lz4-napi's result in a transferable ArrayBuffer (its own buffers cannot be transferred),
 * behind `room` bytes left for a header.
 */
function copyOut(result: Buffer, room = 0): ArrayBuffer {
  const output = Buffer.allocUnsafeSlow(room + result.length);
  result.copy(output, room);
  return output.buffer;
}

port.on('message', ({ id, op, input }: Lz4Request) => {
  let reply: Lz4Reply;
  try {
    if (op === 'compress') {
      const { output, crc } = compressInto(input);
      const sha256 = createHash('sha256').update(new Uint8Array(output)).digest('hex');
      reply = output === input ? { id, output, sha256, crc } : { id, output, sha256, crc, input };
    } else if (op === 'sum') {
      reply = { id, output: input, sha256: undefined, crc: crc32(new Uint8Array(input, RAW_HEADER_BYTES)) };
    } else {
      const output = uncompress(input);
      reply = { id, output, sha256: undefined, crc: crc32(new Uint8Array(output)) };
    }
  } catch (err) {
    reply = { id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(reply, !('output' in reply) ? [] : reply.input === undefined ? [reply.output] : [reply.output, reply.input]);
});
