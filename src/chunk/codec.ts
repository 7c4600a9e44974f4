/**
 * Block codec: uncompressed block bytes ↔ the bytes of its object. lz4 runs on a worker
 * thread (lz4-thread.ts), so compressing a 4 MiB block never blocks the event loop.
 *
 * Stored format, by the volume's compression setting (fixed at format):
 *
 * - `'none'`: the object is the block's bytes, verbatim.
 * - `'lz4'`:  a header, then lz4-napi's `compress` output (lz4_flex `compress_prepend_size`):
 *
 *       offset 0, 4 bytes   fe ff ff ff (LZ4_CHECKED_MARK, lz4-header.ts)
 *       offset 4, 4 bytes   CRC-32 of the uncompressed block, unsigned little-endian
 *       offset 8, 4 bytes   uncompressed length, unsigned little-endian
 *       offset 12, …        one LZ4 *block* (raw block format: no frame header, no checksum)
 *
 *   Objects written before decision 109 lack the first 8 bytes (they start with the length)
 *   and are read without a CRC check.
 *
 *   A block that lz4 would not shrink (the worker samples it first) is stored raw:
 *
 *       offset 0, 4 bytes   ff ff ff ff (RAW_BLOCK_MARK: no block is 4 GiB)
 *       offset 4, 4 bytes   CRC-32 of the block's bytes, unsigned little-endian
 *       offset 8, …         the block's bytes verbatim
 *
 *   so incompressible data costs neither compression nor decompression, and a damaged raw
 *   block is caught by its CRC (summed on the worker too, for a block of 256 KiB or more whose
 *   object is alone in its memory, as a fetched one is).
 *
 *   An empty input is the header and `00 00 00 00 00`. The LZ4 block format has no checksum:
 *   a flipped bit in it decodes, most of the time, to wrong bytes of the right length, which
 *   the header's CRC-32 (checked on the worker's sum of the output) turns into an error. Also
 *   checked: that the stream parses and that both the length prefix and the decoded length
 *   equal the length in the block key. The prefix is checked *before* decompressing, so a
 *   damaged prefix cannot make us allocate gigabytes.
 */
import { crc32 } from 'node:zlib';
import { lz4Compress, lz4Uncompress, sumRawBlock } from './lz4-thread.js';
import { ownsItsMemory, RAW_BLOCK_MARK, RAW_HEADER_BYTES, rawBlockData } from './raw-block.js';
import { LZ4_CHECKED_MARK, LZ4_HEADER_BYTES } from './lz4-header.js';
import { BlockCorruptError } from './errors.js';
import { tellCrc32 } from '../util/known-crc.js';
import type { Compression } from './compressions.js';

export { COMPRESSIONS, type Compression } from './compressions.js';

/**
 * A raw block at least this large is summed on the codec worker: a 4 MiB CRC-32 is about 2 ms
 * of the main thread on this kind of machine, while the hop costs a fraction of that; a small
 * one is summed where it is, cheaper than the hop.
 */
const SUM_ON_WORKER_BYTES = 256 << 10;

/** Bytes of the lz4 length prefix. */
export const LZ4_PREFIX_BYTES = 4;

/**
 * A block's object bytes, with their SHA-256 (hex) when it was computed off the main thread,
 * and the block's own bytes (`data`: the input, or where a consumed input's memory went).
 */
export interface EncodedBlock {
  readonly bytes: Buffer;
  readonly sha256: string | undefined;
  readonly data: Buffer;
}

/**
 * The object bytes for one block. With 'none' the result IS `data` (no copy), so the caller
 * must not change `data` until the put has completed. With lz4 the worker also hashes the
 * result, which S3 needs for signing (it would otherwise be hashed on the main thread).
 * `consume`: the caller gives `data` up; a block allocated with header room
 * (allocBlockWithHeaderRoom) then goes to the worker without a copy and is detached here: use
 * the result's `data` instead.
 */
export async function encodeBlockForUpload(data: Buffer, compression: Compression, consume = false): Promise<EncodedBlock> {
  if (compression === 'none') return { bytes: data, sha256: undefined, data };
  const encoded = await lz4Compress(data, consume);
  return { bytes: encoded.bytes, sha256: encoded.sha256, data: encoded.data as Buffer };
}

/** encodeBlockForUpload without the hash. */
export async function encodeBlock(data: Buffer, compression: Compression): Promise<Buffer> {
  return (await encodeBlockForUpload(data, compression)).bytes;
}

/**
 * The uncompressed block from its object bytes, verified to be `expectedLength` bytes long
 * (the length in its key). Throws BlockCorruptError on any mismatch or lz4 failure; `key`
 * only names the block in that error. `consume`: the caller gives `stored` up (a fetched
 * object), so a large raw block alone in its memory is summed on the worker, its memory moved
 * there and back, and an lz4 one alone in its memory moves there to be decompressed without a
 * copy; `stored` is then detached, and only the result holds the bytes.
 */
export async function decodeBlock(
  stored: Buffer, compression: Compression, expectedLength: number, key?: string, consume = false,
): Promise<Buffer> {
  if (!Number.isSafeInteger(expectedLength) || expectedLength < 0) {
    throw new RangeError(`decodeBlock: expected length ${expectedLength} is not a non-negative integer`);
  }
  const where = key === undefined ? {} : { key };
  if (compression === 'none') {
    if (stored.length !== expectedLength) {
      throw new BlockCorruptError(`stored length ${stored.length} is not the expected ${expectedLength}`, where);
    }
    return stored;
  }
  if (stored.length < LZ4_PREFIX_BYTES + 1) {
    throw new BlockCorruptError(`lz4 object of ${stored.length} bytes is too short to be a block`, where);
  }
  const declared = stored.readUInt32LE(0);
  if (declared === RAW_BLOCK_MARK) {
    const raw = rawBlockData(stored, expectedLength);
    if ('damage' in raw) throw new BlockCorruptError(raw.damage, where);
    let data = raw.data;
    let crc: number;
    if (consume && data.length >= SUM_ON_WORKER_BYTES && ownsItsMemory(stored)) {
      const summed = await sumRawBlock(stored); // `stored` moves to the worker and back
      data = summed.object.subarray(RAW_HEADER_BYTES);
      crc = summed.crc;
    } else {
      crc = crc32(data);
    }
    if (crc !== raw.crc) throw new BlockCorruptError('raw block fails its CRC-32 check', where);
    tellCrc32(data, raw.crc);
    return data;
  }
  // Read before the object may move to the worker (consume).
  const checked = declared === LZ4_CHECKED_MARK;
  if (checked && stored.length < LZ4_HEADER_BYTES + LZ4_PREFIX_BYTES + 1) {
    throw new BlockCorruptError(`lz4 object of ${stored.length} bytes is too short to be a block`, where);
  }
  const length = checked ? stored.readUInt32LE(LZ4_HEADER_BYTES) : declared;
  const storedCrc = checked ? stored.readUInt32LE(4) : undefined;
  if (length !== expectedLength) {
    throw new BlockCorruptError(`lz4 length prefix says ${length} bytes, expected ${expectedLength}`, where);
  }
  let decoded: { bytes: Buffer; crc: number };
  try {
    decoded = await lz4Uncompress(stored, consume);
  } catch (err) {
    throw new BlockCorruptError(`lz4 cannot decode it: ${(err as Error).message}`, { ...where, cause: err });
  }
  if (decoded.bytes.length !== expectedLength) {
    throw new BlockCorruptError(`decoded to ${decoded.bytes.length} bytes, expected ${expectedLength}`, where);
  }
  if (storedCrc !== undefined && decoded.crc !== storedCrc) throw new BlockCorruptError('lz4 block fails its CRC-32 check', where);
  return decoded.bytes;
}
