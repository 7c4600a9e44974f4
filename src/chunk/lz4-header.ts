/**
 * The header of an lz4 block object (decision 109): the mark LZ4_CHECKED_MARK, then the CRC-32
 * of the block's uncompressed bytes, then lz4-napi's output (the length prefix and one LZ4
 * block). The LZ4 block format has no checksum of its own: a flipped bit in it decodes, most of
 * the time, to wrong bytes of the right length (about three flips in four, measured), so the
 * CRC is what makes such damage a read error. Objects written before this have no header (they
 * start with the length prefix) and are read without the check.
 */
export const LZ4_CHECKED_MARK = 0xfffffffe;
/** Mark and CRC-32, both unsigned little-endian. */
export const LZ4_HEADER_BYTES = 8;

/** Writes the header into the first LZ4_HEADER_BYTES of `object`. */
export function writeLz4Header(object: Buffer, crc: number): void {
  object.writeUInt32LE(LZ4_CHECKED_MARK, 0);
  object.writeUInt32LE(crc, 4);
}

/** Whether `object` starts with the header (else it is an lz4 object of the older form). */
export function hasLz4Header(object: Uint8Array): boolean {
  return object.length >= LZ4_HEADER_BYTES && Buffer.from(object.buffer, object.byteOffset, 4).readUInt32LE(0) === LZ4_CHECKED_MARK;
}
