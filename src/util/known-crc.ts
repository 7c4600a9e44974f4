/**
 * CRC-32s already known for block buffers, so that the disk cache's file header does not sum
 * on the main thread a block whose sum was just checked or computed on the codec's worker
 * (a raw block's stored CRC, a decompressed block's). Keyed by the buffer object itself, so an
 * entry lives exactly as long as the buffer; a buffer must not be written after its CRC is told.
 */
import { crc32 } from 'node:zlib';

const known = new WeakMap<Uint8Array, number>();

/** `crc` is the zlib/IEEE CRC-32 of `data`'s bytes, which nobody writes any more. */
export function tellCrc32(data: Uint8Array, crc: number): void {
  known.set(data, crc);
}

/** The CRC-32 of `data`: told earlier, or computed here. */
export function crc32Of(data: Uint8Array): number {
  return known.get(data) ?? crc32(data);
}
