/**
 * Typed errors of the chunk layer. Both are EIO: a block that metadata points at and that
 * is absent or damaged is corruption of the volume, which a reader must never see as zeros
 * (or as ENOENT: the file exists, its data is what is broken). They carry `errno` (the
 * HasErrno contract of src/errors.ts), so toErrno maps them without knowing this layer.
 */
import { constants } from 'node:os';

const EIO = constants.errno.EIO;

/** A block object that a slice needs is not in the object store. */
export class BlockMissingError extends Error {
  override readonly name = 'BlockMissingError';
  /** EIO (5). */
  readonly errno: number = EIO;
  readonly code = 'EIO';
  /** The missing object's block key. */
  readonly key: string;

  constructor(key: string, options?: { cause?: unknown }) {
    super(`block "${key}" is missing from the object store (the volume is damaged: metadata references it)`, options);
    this.key = key;
    Error.captureStackTrace?.(this, new.target);
  }
}

/**
 * A stored block does not decode to the bytes its key promises: lz4 rejected it, or its
 * decompressed length differs from the length encoded in its key.
 */
export class BlockCorruptError extends Error {
  override readonly name = 'BlockCorruptError';
  /** EIO (5). */
  readonly errno: number = EIO;
  readonly code = 'EIO';
  /** The block key when known (the codec alone does not know it). */
  readonly key: string | undefined;

  constructor(message: string, options?: { cause?: unknown; key?: string }) {
    super(options?.key === undefined ? message : `block "${options.key}": ${message}`, options);
    this.key = options?.key;
    Error.captureStackTrace?.(this, new.target);
  }
}
