/**
 * A FUSE session on the native binding: mounts, hands each delivered request to its handler,
 * and guarantees every request exactly one answer.
 *
 *  - A handler's promise becomes the reply; a rejection becomes `-errno` through toErrno, the
 *    one mapping (unexpected errors are EIO, logged once with their stack).
 *  - A handler that has not answered within its operation's timeout is answered EIO; its late
 *    answer is then dropped by the binding (each request is answered at most once natively).
 *  - Forgets carry no request: they go to `onForget`; nor does an open whose deferred reply the
 *    kernel refused: `onOpenRefused` closes its handle.
 */
import { errnoName, toErrno } from '../errors.js';
import { loadBinding, Notice, Op, OP_NAMES, type Binding, type MountConfig, type NativeSession, type OpCode, type Request } from './native.js';

export interface ReplyLog {
  /** An unexpected failure of an operation (mapped to EIO). */
  unexpected(op: string, err: unknown): void;
  /** Per-op accounting: latency in ms, the errno (0 for success) and, for read/write, the byte count. */
  done?(op: string, ms: number, errno: number, bytes?: number): void;
}

/**
 * Handles one request and answers it through the binding (`b.reply*`), returning the byte count
 * for reads and writes. A thrown or rejected error is answered with its errno.
 */
export type Handler = (r: Request, b: Binding) => Promise<number | void> | number | void;

/** Per-operation answer deadlines in ms (0: none); operations not listed use `default`. */
export type OpTimeouts = Partial<Record<string, number>> & { readonly default: number };

export interface SessionOptions {
  readonly mountPoint: string;
  /** libfuse arguments after argv[0]: ['-o', 'opt,opt'] */
  readonly args: readonly string[];
  readonly config: MountConfig;
  readonly handlers: Partial<Record<OpCode, Handler>>;
  readonly onForget: (ino: number, nlookup: number) => void;
  /** The kernel connection ended (unmounted from outside, or by unmount()). */
  readonly onEnded: () => void;
  /** The kernel refused the reply of an open answered with replyOpenAfterInval: no RELEASE will come for `fh`. */
  readonly onOpenRefused?: (fh: number) => void;
  readonly timeouts: OpTimeouts;
  readonly log: ReplyLog;
}

interface Pending {
  readonly op: string;
  readonly start: number;
  readonly deadline: number;
}

const EIO = 5;
const ENOSYS = 38;

/** How often unanswered requests are checked against their deadlines. */
const SWEEP_MS = 250;

export interface SessionStats {
  readonly pending: number;
  readonly outstanding: number;
  /** Cache invalidations queued for the kernel, not handed over yet. */
  readonly noticesWaiting: number;
  /** Cache invalidations handed to the kernel since the mount. */
  readonly noticesSent: number;
  readonly live: number;
}

export class FuseSession {
  readonly #b: Binding;
  readonly #options: SessionOptions;
  readonly #native: NativeSession;
  readonly #pending = new Map<Request, Pending>();
  readonly #deadlines: ReadonlyMap<number, number>;
  /** Requests that wait (lock waits), by the id an INTERRUPT names. */
  readonly #interruptible = new Map<number, AbortController>();
  readonly #earlyInterrupts = new Set<number>();
  #sweeper: NodeJS.Timeout | undefined;
  #unmounting: Promise<void> | undefined;

  constructor(options: SessionOptions) {
    this.#b = loadBinding();
    this.#options = options;
    const deadlines = new Map<number, number>();
    for (const code of Object.values(Op)) {
      deadlines.set(code, options.timeouts[OP_NAMES[code] as string] ?? options.timeouts.default);
    }
    this.#deadlines = deadlines;
    // Mounting runs mount(2) (or fusermount3) synchronously: a few milliseconds, once.
    this.#native = this.#b.mount(options.mountPoint, ['objectfs', ...options.args], options.config, (batch) => this.#dispatch(batch));
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  /**
   * Unanswered requests here, kernel notices queued and handed over, and request structures
   * alive in the binding (all sessions).
   */
  stats(): SessionStats {
    const s = this.#b.stats(this.#native);
    return { pending: this.#pending.size, outstanding: s.outstanding ?? 0, noticesWaiting: s.noticesWaiting ?? 0, noticesSent: s.noticesSent ?? 0, live: s.live };
  }

  invalidateInode(ino: number, off = 0, len = 0): void {
    this.#b.notify(this.#native, Notice.INVAL_INODE, 0, ino, null, off, len);
  }

  invalidateEntry(parent: number, name: Buffer): void {
    this.#b.notify(this.#native, Notice.INVAL_ENTRY, parent, 0, name, 0, 0);
  }

  /** Unmounts if still mounted, stops the binding's threads; unanswered requests get EIO. */
  unmount(): Promise<void> {
    this.#unmounting ??= (async () => {
      if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
      await this.#b.unmount(this.#native);
      this.#pending.clear();
    })();
    return this.#unmounting;
  }

  #dispatch(batch: Request[]): void {
    for (const r of batch) {
      try {
        if (r.op === Op.FORGET) this.#forget(r.forgets as Float64Array);
        else if (r.op === Op.ENDED) this.#options.onEnded();
        else if (r.op === Op.INTERRUPT) this.#interrupt(r.id ?? 0);
        else if (r.op === Op.OPEN_REFUSED) this.#options.onOpenRefused?.(r.id ?? 0);
        else this.#handle(r);
      } catch (err) {
        // Never let an exception escape into the binding's callback.
        this.#options.log.unexpected(OP_NAMES[r.op] ?? String(r.op), err);
      }
    }
  }

  /**
   * The kernel interrupted a waiting request (a signal reached the process): its handler sees
   * its signal aborted. An interrupt may arrive before its request; it is kept until then.
   */
  #interrupt(id: number): void {
    const waiting = this.#interruptible.get(id);
    if (waiting !== undefined) waiting.abort();
    else {
      this.#earlyInterrupts.add(id);
      if (this.#earlyInterrupts.size > 1024) this.#earlyInterrupts.delete(this.#earlyInterrupts.values().next().value as number);
    }
  }

  #forget(pairs: Float64Array): void {
    for (let i = 0; i + 1 < pairs.length; i += 2) this.#options.onForget(pairs[i] as number, pairs[i + 1] as number);
  }

  #handle(r: Request): void {
    const op = OP_NAMES[r.op] ?? String(r.op);
    const handler = this.#options.handlers[r.op];
    const start = performance.now();
    if (handler === undefined) {
      this.#b.replyErr(r.req, ENOSYS);
      return;
    }
    const timeout = this.#deadlines.get(r.op) ?? 0;
    const id = r.id;
    if (id !== undefined) {
      const controller = new AbortController();
      this.#interruptible.set(id, controller);
      r.signal = controller.signal;
      if (this.#earlyInterrupts.delete(id)) controller.abort();
    }
    let result: Promise<number | void> | number | void;
    try {
      result = handler(r, this.#b);
    } catch (err) {
      if (id !== undefined) this.#interruptible.delete(id);
      this.#fail(r, op, start, err);
      return;
    }
    if (!(result instanceof Promise)) {
      if (id !== undefined) this.#interruptible.delete(id);
      this.#options.log.done?.(op, performance.now() - start, 0, typeof result === 'number' ? result : undefined);
      return;
    }
    if (id !== undefined) void result.finally(() => this.#interruptible.delete(id)).catch(() => undefined);
    if (timeout > 0) this.#pending.set(r, { op, start, deadline: start + timeout });
    result.then(
      (bytes) => {
        this.#pending.delete(r);
        this.#options.log.done?.(op, performance.now() - start, 0, typeof bytes === 'number' ? bytes : undefined);
      },
      (err: unknown) => {
        this.#pending.delete(r);
        this.#fail(r, op, start, err);
      },
    );
  }

  #fail(r: Request, op: string, start: number, err: unknown): void {
    const errno = toErrno(err, (e) => this.#options.log.unexpected(op, e));
    this.#options.log.done?.(op, performance.now() - start, errno);
    this.#b.replyErr(r.req, errno);
  }

  #sweep(): void {
    const now = performance.now();
    for (const [r, p] of this.#pending) {
      if (p.deadline > now) continue;
      this.#pending.delete(r);
      this.#options.log.unexpected(p.op, new Error(`no answer within ${Math.round(p.deadline - p.start)} ms: answered EIO`));
      this.#options.log.done?.(p.op, now - p.start, EIO);
      this.#b.replyErr(r.req, EIO);
    }
  }
}

/** For logs: `ENOENT (2)`. */
export function describeErrno(errno: number): string {
  return `${errnoName(errno)} (${errno})`;
}
