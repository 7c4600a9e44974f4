/** lseek's SEEK_DATA and SEEK_HOLE over a file's slice pieces. A hole is any byte no slice covers. */
import { FsError } from '../errors.js';
import { CHUNK_SIZE, type ChunkRecord } from '../meta/index.js';
import { mapRange, type SlicePiece } from './file-reader.js';

export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;

/**
 * The answer for `whence` from `off` within [off, end), given the data pieces of that range
 * in file order: the first data byte (undefined: none before `end`), or the first hole byte
 * (`end` when the range holds no hole).
 */
export function seekIn(pieces: readonly SlicePiece[], off: number, end: number, whence: number): number | undefined {
  if (whence === SEEK_DATA) {
    const first = pieces.find((p) => p.fileOff + p.len > off);
    return first === undefined ? undefined : Math.max(off, first.fileOff);
  }
  let at = off;
  for (const p of pieces) {
    if (p.fileOff > at) return at;
    at = Math.max(at, p.fileOff + p.len);
  }
  return Math.min(at, end);
}

/**
 * SEEK_DATA / SEEK_HOLE from `off` in a file of `length` bytes whose chunk maps `map` gives,
 * one chunk at a time (ENXIO: no data at or after `off`).
 */
export async function seekFile(off: number, length: number, whence: number, map: (index: number) => Promise<ChunkRecord>): Promise<number> {
  for (let base = Math.floor(off / CHUNK_SIZE) * CHUNK_SIZE; base < length; base += CHUNK_SIZE) {
    const from = Math.max(off, base);
    const end = Math.min(length, base + CHUNK_SIZE);
    const at = seekIn((await mapRange(from, end, length, map)).pieces, from, end, whence);
    if (at !== undefined && (whence === SEEK_DATA || at < end)) return at;
  }
  if (whence === SEEK_DATA) throw FsError.of('ENXIO', `no data after ${off}`);
  return length;
}
