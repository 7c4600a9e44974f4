/** lseek's SEEK_DATA and SEEK_HOLE over a file's slice pieces (pure). A hole is any byte no slice covers. */
import type { SlicePiece } from './file-reader.js';

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
