/**
 * The FUSE boundary: every operation's promise becomes exactly one callback. Success calls
 * `cb(0, value)` (or `cb(n)` for read/write); failure calls `cb(-errno)` with the errno from
 * toErrno, the one mapping. Unknown errors (EIO) are logged once with their stack; expected
 * errnos (ENOENT on a lookup, EEXIST…) are not. Nothing here ever throws into the binding.
 */
import { errnoName, toErrno } from '../errors.js';

export type ValueCallback<T> = (code: number, value?: T) => void;
export type CountCallback = (codeOrCount: number) => void;

export interface ReplyLog {
  /** An unexpected failure of an operation (mapped to EIO). */
  unexpected(op: string, err: unknown): void;
  /** Per-op accounting: latency in ms, the errno (0 for success) and, for read/write, the byte count. */
  done?(op: string, ms: number, errno: number, bytes?: number): void;
}

export class Replier {
  readonly #log: ReplyLog;

  constructor(log: ReplyLog) {
    this.#log = log;
  }

  /** Replies `cb(0, value)` or `cb(-errno)`. */
  value<T>(op: string, cb: ValueCallback<T>, work: () => Promise<T>): void {
    const start = performance.now();
    let promise: Promise<T>;
    try {
      promise = work();
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (value) => { this.#log.done?.(op, performance.now() - start, 0); cb(0, value); },
      (err: unknown) => { cb(-this.#errno(op, err, start)); },
    );
  }

  /** Replies `cb(0)` or `cb(-errno)`. */
  done(op: string, cb: (code: number) => void, work: () => Promise<unknown>): void {
    this.value(op, (code) => cb(code), work);
  }

  /** For read and write: replies the byte count, or `cb(-errno)`. */
  count(op: string, cb: CountCallback, work: () => Promise<number>): void {
    const start = performance.now();
    let promise: Promise<number>;
    try {
      promise = work();
    } catch (err) {
      promise = Promise.reject(err);
    }
    promise.then(
      (n) => { this.#log.done?.(op, performance.now() - start, 0, n); cb(n); },
      (err: unknown) => { cb(-this.#errno(op, err, start)); },
    );
  }

  #errno(op: string, err: unknown, start: number): number {
    const errno = toErrno(err, (e) => this.#log.unexpected(op, e));
    this.#log.done?.(op, performance.now() - start, errno);
    return errno;
  }
}

/** For logs: `ENOENT (2)`. */
export function describeErrno(errno: number): string {
  return `${errnoName(errno)} (${errno})`;
}
