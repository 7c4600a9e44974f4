/**
 * The one POSIX error type and the one mapping from any thrown value to an errno.
 *
 * Every layer below the FUSE adapter throws FsError (or its own typed errors, which
 * toErrno understands); only fuse/ turns an errno into a reply, and only cli/ turns a
 * CliError into an exit code.
 */
import { constants } from 'node:os';

const E = constants.errno;

/** The errno codes ObjectFS raises. One list feeds both the type and the factories. */
export const ERRNO_CODES = [
  'EPERM', 'ENOENT', 'EIO', 'EBADF', 'EAGAIN', 'ENOMEM', 'EACCES', 'EBUSY', 'EEXIST', 'EXDEV',
  'ENOTDIR', 'EISDIR', 'EINVAL', 'EFBIG', 'ENOSPC', 'EROFS', 'EMLINK', 'ERANGE', 'ENAMETOOLONG',
  'ENOSYS', 'ENOTEMPTY', 'ELOOP', 'ENODATA', 'ENOTSUP', 'ETIMEDOUT', 'EINTR', 'ESTALE', 'E2BIG', 'ENXIO', 'EOPNOTSUPP',
  'ENOLCK', 'EDEADLK', 'EDQUOT',
] as const;
export type ErrnoCode = (typeof ERRNO_CODES)[number];

function errnoOf(code: ErrnoCode): number {
  const n = (E as Record<string, number | undefined>)[code];
  if (n === undefined) throw new Error(`no errno for ${code}`);
  return n;
}

/** A POSIX error: a positive errno, its symbolic code and a message for logs. */
export class FsError extends Error {
  override readonly name = 'FsError';
  readonly errno: number;
  readonly code: ErrnoCode;
  /**
   * Set on an ENOENT raised because directory `goneIno` itself is gone (removed, or never
   * there), not because a name is missing in it: the vfs answers ESTALE for an inode it holds.
   */
  readonly goneIno: number | undefined;

  constructor(code: ErrnoCode, message: string, options?: { cause?: unknown; goneIno?: number }) {
    // A stack only for EIO, the failure someone has to debug. The other codes are ordinary
    // answers (a missing name, an existing one, a refused permission): a lookup of a missing
    // name is most of what a build or a shell asks, and a stack costs 8-13 µs of the one
    // JavaScript thread, 20 times the error itself.
    const limit = Error.stackTraceLimit;
    if (code !== 'EIO') Error.stackTraceLimit = 0;
    try {
      super(`${code}: ${message}`, options);
    } finally {
      Error.stackTraceLimit = limit;
    }
    this.code = code;
    this.errno = errnoOf(code);
    this.goneIno = options?.goneIno;
  }

  static of(code: ErrnoCode, message: string, cause?: unknown): FsError {
    return new FsError(code, message, cause === undefined ? undefined : { cause });
  }
  static ENOENT(message: string): FsError { return new FsError('ENOENT', message); }
  /** ENOENT because directory `ino` is gone: see goneIno. */
  static goneDirectory(ino: number, message = `no directory ${ino}`): FsError { return new FsError('ENOENT', message, { goneIno: ino }); }
  static EEXIST(message: string): FsError { return new FsError('EEXIST', message); }
  static ENOTDIR(message: string): FsError { return new FsError('ENOTDIR', message); }
  static EISDIR(message: string): FsError { return new FsError('EISDIR', message); }
  static EINVAL(message: string): FsError { return new FsError('EINVAL', message); }
  static ENOTEMPTY(message: string): FsError { return new FsError('ENOTEMPTY', message); }
  static ENAMETOOLONG(message: string): FsError { return new FsError('ENAMETOOLONG', message); }
  static EPERM(message: string): FsError { return new FsError('EPERM', message); }
  static EACCES(message: string): FsError { return new FsError('EACCES', message); }
  static EIO(message: string, cause?: unknown): FsError { return FsError.of('EIO', message, cause); }
  static ENODATA(message: string): FsError { return new FsError('ENODATA', message); }
  static EROFS(message: string): FsError { return new FsError('EROFS', message); }
  static ERANGE(message: string): FsError { return new FsError('ERANGE', message); }
  static EMLINK(message: string): FsError { return new FsError('EMLINK', message); }
  static ENOSPC(message: string): FsError { return new FsError('ENOSPC', message); }
  static EFBIG(message: string): FsError { return new FsError('EFBIG', message); }
}

/** Errors that carry their own errno mapping (typed errors of lower layers) implement this. */
export interface HasErrno {
  readonly errno: number;
}

function hasErrno(e: unknown): e is HasErrno {
  return typeof e === 'object' && e !== null && typeof (e as { errno?: unknown }).errno === 'number'
    && (e as { errno: number }).errno > 0;
}

/**
 * The ONE mapping from anything thrown to a positive errno.
 * FsError and typed errors with a positive errno keep theirs; an abort is EINTR; a deadline
 * (TimeoutError) is ETIMEDOUT; anything else is EIO and is reported once through `onUnknown`.
 */
export function toErrno(err: unknown, onUnknown?: (err: unknown) => void): number {
  if (err instanceof FsError) return err.errno;
  if (err instanceof Error && err.name === 'AbortError') return errnoOf('EINTR');
  if (err instanceof Error && err.name === 'TimeoutError') return errnoOf('ETIMEDOUT');
  if (hasErrno(err)) return err.errno;
  onUnknown?.(err);
  return errnoOf('EIO');
}

/** Symbolic name of a positive errno, for messages and tests ('ENOENT'), or `E<n>`. */
export function errnoName(errno: number): string {
  for (const [name, n] of Object.entries(E)) if (n === errno) return name;
  return `E${errno}`;
}

/** A command-line failure: printed as its message (no stack) and turned into an exit code by cli/main.ts only. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(readonly exitCode: number, readonly code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
