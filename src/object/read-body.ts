/**
 * An S3 response body read into one buffer of its announced length.
 *
 * The SDK's own collector gathers the chunks and copies them into a zero-filled array; here they
 * are copied once into memory that is not cleared first. For a large body that memory is a
 * SharedArrayBuffer, so that the codec's worker thread can check or decompress the block in
 * place, without a copy and without taking the buffer away from this thread
 * (chunk/lz4-thread.ts); a small one is summed here faster than a hand-over to the worker.
 */
import { INCOMPLETE_BODY } from './classify-s3-error.js';

function incomplete(message: string): Error {
  return Object.assign(new Error(message), { name: INCOMPLETE_BODY });
}

/** Smaller bodies are summed and decompressed as cheaply here as handed over: plain memory. */
export const SHARED_BODY_BYTES = 256 << 10;

export async function readBody(body: AsyncIterable<Uint8Array>, length: number): Promise<Buffer> {
  const out = length >= SHARED_BODY_BYTES ? Buffer.from(new SharedArrayBuffer(length)) : Buffer.allocUnsafe(length);
  let at = 0;
  for await (const chunk of body) {
    if (at + chunk.byteLength > length) throw incomplete(`body longer than its announced ${length} bytes`);
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  // A connection cut mid-body must not return a short block as if it were whole.
  if (at !== length) throw incomplete(`body ended after ${at} of ${length} bytes`);
  return out;
}
