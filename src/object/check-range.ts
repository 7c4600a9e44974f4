/**
 * Argument check shared by the backends' get(): a bad range is a programming error, so it
 * throws RangeError before any I/O rather than becoming a storage error.
 */

/** Throws RangeError unless offset is a non-negative integer and length (if given) too. */
export function checkRange(offset: number, length: number | undefined): void {
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`offset must be a non-negative integer, got ${offset}`);
  }
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    throw new RangeError(`length must be a non-negative integer, got ${length}`);
  }
}
