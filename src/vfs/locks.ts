/**
 * File locks as this host's processes see them (decision 66): every grant and release is a
 * transaction in the database (meta/locks.ts), so locks hold across every mount of the volume.
 * This side keeps what makes them cheap and prompt:
 *
 *  - which owners hold locks here, so that a close by an owner holding none (nearly every close)
 *    costs no round trip, and through which open file each took its last lock: the kernel names
 *    flock and OFD owners by the address of the open file, which a new open may reuse before
 *    the old one's RELEASE (sent in the background) arrives, and that late RELEASE must not drop
 *    the new open file's locks;
 *  - waiters (F_SETLKW, flock without LOCK_NB): a waiter tries again when a lock of its file is
 *    released on this host or, through the change feed, on another one; a poll every few seconds
 *    covers a notice that was lost. A signal ends the wait with EINTR, leaving nothing behind.
 *    A wait that closes a cycle of waiters on this host is EDEADLK;
 *  - locks lost with the session (another client took this one for dead and dropped them): the
 *    next operation on each such file fails with EIO once instead of carrying on unprotected.
 */
import { FsError } from '../errors.js';
import { LOCK_EOF, type LockKind, type LockRequest, type LockType, type MetaEngine } from '../meta/index.js';
import type { Metrics } from '../metrics/index.js';

/** How often a waiter tries again when no release was announced (a lost notice, an expired session). */
const WAIT_POLL_MS = 5_000;

/** A lock request of a process here (the engine's, without what this side works out itself). */
export type LockCall = Omit<LockRequest, 'holdsNone'>;

/** What F_GETLK reports: the lock in the way, with its holder's pid on this host (0: another host). */
export interface LockHolder {
  readonly type: LockType;
  readonly lo: number;
  readonly hi: number;
  readonly pid: number;
}

/** An owner that may hold locks of a file here. */
interface Holding {
  /** Requests that took something. */
  readonly takes: number;
  /** The open file the last of them came through. */
  readonly fh: number;
}

export class FileLocks {
  readonly #meta: MetaEngine;
  /** Owners that may hold locks here, by inode (key: kind and owner). */
  readonly #held = new Map<number, Map<string, Holding>>();
  /** Bumped on every release of a file's locks: a waiter that saw no change sleeps. */
  readonly #releases = new Map<number, number>();
  readonly #waiters = new Map<number, Set<() => void>>();
  /** Files whose locks went with the session: their next operation fails once. */
  readonly #lost = new Set<number>();
  /** Owners waiting here, by key, for a lock held by another owner here (deadlock detection). */
  readonly #waitsFor = new Map<string, string>();

  readonly #metrics: Metrics | undefined;

  constructor(meta: MetaEngine, metrics?: Metrics) {
    this.#meta = meta;
    this.#metrics = metrics;
    meta.onSessionLost(() => {
      for (const ino of this.#held.keys()) this.#lost.add(ino);
      this.#held.clear();
      this.released(undefined);
    });
  }

  /**
   * Sets or clears a lock, asked through the open file `fh`; with `wait`, waits for a
   * conflicting one to go (until `signal`).
   */
  async set(call: LockCall, fh: number, wait: boolean, signal?: AbortSignal): Promise<void> {
    const m = this.#metrics?.m;
    const labels = { kind: call.kind };
    let waitStarted: number | undefined;
    try {
      await this.#set(call, fh, wait, signal, () => {
        if (waitStarted === undefined) m?.lockWaits.inc(labels);
        waitStarted ??= performance.now();
      });
      if (call.type !== undefined) m?.lockGrants.inc(labels);
    } catch (err) {
      if (err instanceof FsError && err.code === 'EAGAIN') m?.lockConflicts.inc(labels);
      throw err;
    } finally {
      if (waitStarted !== undefined) m?.lockWaitSeconds.observe(labels, (performance.now() - waitStarted) / 1000);
    }
  }

  async #set(call: LockCall, fh: number, wait: boolean, signal: AbortSignal | undefined, waiting: () => void): Promise<void> {
    const key = `${call.kind}:${call.owner}`;
    for (;;) {
      if (signal?.aborted) throw FsError.of('EINTR', `lock wait on inode ${call.ino} interrupted`);
      const seen = this.#releases.get(call.ino) ?? 0;
      const holdsNone = this.#held.get(call.ino)?.has(key) !== true;
      if (call.type !== undefined) this.#hold(call.ino, key, fh); // before the grant: a close racing it must ask the database
      const holds = this.#held.get(call.ino)?.get(key)?.takes;
      const { conflict, released } = await this.#meta.setLock({ ...call, holdsNone });
      if (released) this.released(new Set([call.ino]));
      // An unlock of the whole file leaves the owner nothing here: its close needs no round trip.
      // (Unless a request of the same owner took something meanwhile.)
      if (call.type === undefined && call.lo === 0 && call.hi === LOCK_EOF && this.#held.get(call.ino)?.get(key)?.takes === holds) this.#unhold(call.ino, key);
      if (conflict === undefined) return;
      if (!wait) throw FsError.of('EAGAIN', `inode ${call.ino} is locked`);
      this.#metrics?.m.lockConflicts.inc({ kind: call.kind });
      waiting();
      if ((this.#releases.get(call.ino) ?? 0) === seen) {
        const blocker = conflict.sid === this.#meta.sessionId ? `${call.kind}:${conflict.owner}` : undefined;
        if (blocker !== undefined && this.#waitsOn(blocker, key)) {
          throw FsError.of('EDEADLK', `lock wait on inode ${call.ino} would deadlock: its holder waits for this owner`);
        }
        if (blocker !== undefined) this.#waitsFor.set(key, blocker);
        try {
          await this.#sleep(call.ino, signal);
        } finally {
          this.#waitsFor.delete(key);
        }
      }
    }
  }

  /**
   * Whether `from` waits, directly or through other waiters here, for `owner`: then `owner`
   * waiting for `from` would deadlock. Only this host's owners are known, so only a cycle among
   * them is found; one through another host waits until a signal (docs/semantics.md).
   */
  #waitsOn(from: string, owner: string): boolean {
    let at: string | undefined = from;
    for (let hops = 0; at !== undefined && hops < 64; hops++) {
      if (at === owner) return true;
      at = this.#waitsFor.get(at);
    }
    return false;
  }

  /** F_GETLK: the first lock of another owner in the way of `call`, or undefined. */
  async test(call: LockCall & { type: LockType }): Promise<LockHolder | undefined> {
    const found = await this.#meta.testLock(call);
    if (found === undefined) return undefined;
    const here = found.sid === this.#meta.sessionId;
    return { type: found.type, lo: found.lo, hi: found.hi, pid: here ? found.pid : 0 };
  }

  /**
   * Drops `owner`'s locks of `kind` on the file (a close, a release); no round trip if it holds
   * none here. `fh`: only if its last lock was taken through that open file (the RELEASE of an
   * open file that owned its locks, flock and OFD, whose owner id a newer open file may have
   * taken over since).
   */
  async release(ino: number, owner: bigint, kind: LockKind, fh?: number): Promise<void> {
    const key = `${kind}:${owner}`;
    const holding = this.#held.get(ino)?.get(key);
    if (holding === undefined || (fh !== undefined && holding.fh !== fh)) return;
    this.#unhold(ino, key);
    if (await this.#meta.releaseLocks(ino, owner, kind)) this.released(new Set([ino]));
  }

  /** Locks of these files were released (here or elsewhere; undefined: maybe any): waiters try again. */
  released(inos: ReadonlySet<number> | undefined): void {
    for (const ino of inos ?? [...this.#waiters.keys()]) {
      this.#releases.set(ino, (this.#releases.get(ino) ?? 0) + 1);
      const waiters = this.#waiters.get(ino);
      if (waiters === undefined) continue;
      this.#waiters.delete(ino);
      for (const wake of waiters) wake();
    }
  }

  /** Throws EIO once if the file's locks were lost with the session. */
  checkLost(ino: number): void {
    if (this.#lost.delete(ino)) throw FsError.EIO(`the locks on inode ${ino} were lost: this mount was taken for dead and its session dropped`);
  }

  /** Files with owners that may hold locks here (for tests and stats). */
  get files(): number {
    return this.#held.size;
  }

  #unhold(ino: number, key: string): void {
    const owners = this.#held.get(ino);
    owners?.delete(key);
    if (owners?.size === 0) this.#held.delete(ino);
  }

  #hold(ino: number, key: string, fh: number): void {
    let owners = this.#held.get(ino);
    if (owners === undefined) this.#held.set(ino, (owners = new Map()));
    // Counts takes, so an unlock can tell one happened meanwhile.
    owners.set(key, { takes: (owners.get(key)?.takes ?? 0) + 1, fh });
  }

  #sleep(ino: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let waiters = this.#waiters.get(ino);
      if (waiters === undefined) this.#waiters.set(ino, (waiters = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
        this.#waiters.get(ino)?.delete(wake);
        if (this.#waiters.get(ino)?.size === 0) this.#waiters.delete(ino);
      };
      const wake = () => { done(); resolve(); };
      const abort = () => { done(); reject(FsError.of('EINTR', `lock wait on inode ${ino} interrupted`)); };
      const timer = setTimeout(wake, WAIT_POLL_MS);
      waiters.add(wake);
      signal?.addEventListener('abort', abort, { once: true });
    });
  }
}
