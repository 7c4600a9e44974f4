/**
 * The on-disk format of one DiskCache file and the mapping from block keys to file paths
 * (pure: no I/O).
 *
 * A cache file is a 13-byte header followed by the block's uncompressed bytes:
 *
 *     offset  size  field
 *          0     4  magic 'OFSC'
 *          4     1  format version (1)
 *          5     4  data length in bytes, u32 big-endian
 *          9     4  crc32 (zlib/IEEE) of the data, u32 big-endian
 *         13     n  data
 *
 * The length catches truncation (a crash between rename and writeback, a full disk) and the
 * crc catches flipped bytes, so a damaged file is dropped instead of served.
 */
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { crc32Of } from '../util/known-crc.js';

/** First 4 bytes of every cache file. */
export const BLOCK_FILE_MAGIC = Buffer.from('OFSC', 'latin1');
/** Header format version; a file of another version is treated as corrupt (and dropped). */
export const BLOCK_FILE_VERSION = 1;
/** Bytes before the data. */
export const BLOCK_FILE_HEADER_SIZE = 13;
/** Largest data length the u32 length field can hold. */
export const MAX_BLOCK_FILE_DATA = 0xffff_ffff;

/**
 * Suffix of a file being written: `<key>.tmp-<12 hex digits>`, renamed over `<key>` when
 * complete. A crash leaves it behind; DiskCache.open removes it. No valid key ends like this.
 */
export const TEMP_SUFFIX_RE = /\.tmp-[0-9a-f]{12}$/;

/** The header of a cache file holding `data`. */
export function encodeBlockHeader(data: Uint8Array): Buffer {
  if (data.length > MAX_BLOCK_FILE_DATA) throw new RangeError(`block of ${data.length} bytes is too large for a cache file`);
  const header = Buffer.allocUnsafe(BLOCK_FILE_HEADER_SIZE);
  BLOCK_FILE_MAGIC.copy(header, 0);
  header.writeUInt8(BLOCK_FILE_VERSION, 4);
  header.writeUInt32BE(data.length, 5);
  header.writeUInt32BE(crc32Of(data), 9);
  return header;
}

/** The result of reading a cache file: its data, or why the file cannot be trusted. */
export type DecodedBlockFile =
  | { readonly ok: true; readonly data: Buffer }
  | { readonly ok: false; readonly problem: string };

/** Checks a whole cache file (header + data) and returns its data (a view into `file`). */
export function decodeBlockFile(file: Buffer): DecodedBlockFile {
  if (file.length < BLOCK_FILE_HEADER_SIZE) return bad(`file of ${file.length} bytes is shorter than the header`);
  if (!file.subarray(0, 4).equals(BLOCK_FILE_MAGIC)) return bad('bad magic');
  const version = file.readUInt8(4);
  if (version !== BLOCK_FILE_VERSION) return bad(`unknown version ${version}`);
  const length = file.readUInt32BE(5);
  const actual = file.length - BLOCK_FILE_HEADER_SIZE;
  if (length !== actual) return bad(`header says ${length} data bytes, file holds ${actual}`);
  const data = file.subarray(BLOCK_FILE_HEADER_SIZE);
  const crc = crc32(data);
  if (crc !== file.readUInt32BE(9)) return bad('crc mismatch');
  return { ok: true, data };
}

/**
 * The path of key's cache file under `dir`. Keys are relative, '/'-separated paths
 * (`chunks/12/12345/12345678_0_4194304`); a key that could escape `dir` (leading '/', '..'),
 * has an empty or '.' segment, a NUL, or looks like a temp file is a TypeError.
 */
export function blockFilePath(dir: string, key: string): string {
  const segments = key.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.includes('\0') || TEMP_SUFFIX_RE.test(s)) {
      throw new TypeError(`invalid cache key "${key}": empty, ".", ".." or temp-like segment, or a leading "/"`);
    }
  }
  return join(dir, ...segments);
}

function bad(problem: string): DecodedBlockFile {
  return { ok: false, problem };
}
