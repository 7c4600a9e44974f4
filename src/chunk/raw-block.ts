/**
 * A block stored uncompressed because lz4 would not shrink it: the prefix RAW_BLOCK_MARK (no
 * block is 4 GiB long, so no lz4 length prefix collides with it), the CRC-32 of the bytes, then
 * the bytes. The CRC is what lets a read or `fsck --verify` tell replaced or damaged content,
 * which lz4's parse would usually catch but raw bytes never would.
 */
import { crc32 } from 'node:zlib';

export const RAW_BLOCK_MARK = 0xffffffff;
/** Mark and CRC-32, both unsigned little-endian. */
export const RAW_HEADER_BYTES = 8;

/**
 * A block buffer of `size` bytes behind RAW_HEADER_BYTES of free room, alone in its
 * ArrayBuffer: the codec worker can then take it without a copy (lz4Compress's `consume`) and,
 * for a block lz4 does not shrink, write the header in front of it in place.
 */
export function allocBlockWithHeaderRoom(size: number): Buffer {
  return Buffer.allocUnsafeSlow(RAW_HEADER_BYTES + size).subarray(RAW_HEADER_BYTES);
}

/** A copy of `bytes` in a buffer of allocBlockWithHeaderRoom's kind. */
export function copyBehindHeaderRoom(bytes: Uint8Array): Buffer {
  const copy = allocBlockWithHeaderRoom(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/** Whether `data` is what allocBlockWithHeaderRoom makes (its whole ArrayBuffer but the room). */
export function hasHeaderRoom(data: Uint8Array): boolean {
  return ownsItsMemory(data, RAW_HEADER_BYTES);
}

/**
 * Whether `data` is the whole of its ArrayBuffer (plain, not shared) past its first `from`
 * bytes, so that the memory can move to the codec worker as it is.
 */
export function ownsItsMemory(data: Uint8Array, from = 0): boolean {
  return data.buffer instanceof ArrayBuffer && data.byteOffset === from && data.buffer.byteLength === from + data.byteLength;
}

/** Writes the raw-block header into the first RAW_HEADER_BYTES of `object`, whose rest is the data. */
export function writeRawHeader(object: Buffer): void {
  object.writeUInt32LE(RAW_BLOCK_MARK, 0);
  object.writeUInt32LE(crc32(object.subarray(RAW_HEADER_BYTES)), 4);
}

/** The data of a raw block object and the CRC-32 it was stored with, or why its length is wrong. */
export function rawBlockData(object: Buffer, expectedLength: number): { data: Buffer; crc: number } | { damage: string } {
  const data = object.subarray(RAW_HEADER_BYTES);
  if (data.length !== expectedLength) return { damage: `raw block of ${data.length} bytes, expected ${expectedLength}` };
  return { data, crc: object.readUInt32LE(4) };
}
