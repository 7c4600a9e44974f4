/**
 * The change feed between hosts: after a mutating operation commits, the inodes it touched are
 * announced on a PostgreSQL channel (NOTIFY), and every other client of the volume drops what
 * it caches about them (attributes, chunk maps, resolved names). Announcements are batched:
 * operations that finish while one is being sent go out together in the next.
 *
 * Correctness never depends on a notification: caches are bounded by their timeouts anyway, and
 * whenever the listening connection is (re)established (notifications may have been lost while
 * it was down), listeners are told to drop everything. A client that dies between a commit and
 * its announcement leaves the others to their timeouts, exactly as without a feed.
 *
 * Payload (text, at most NOTIFY's 8000 bytes): `<origin> <item>,<item>,…`, where origin is a
 * random id of the sending feed (a client ignores its own announcements) and an item is an inode
 * number whose attributes or data changed, `~<ino>` for an inode that also lost a name
 * (renamed, unlinked, replaced), `@<parent>/<name in hex>` for a directory entry that was
 * added, removed or replaced (a mount drops the kernel's cached entry, positive or negative),
 * or `!<ino>` for a file whose locks were released (its waiters try again; nothing cached of
 * the file changes).
 */
import { randomBytes } from 'node:crypto';
import type { Metrics } from '../metrics/index.js';
import { sql, type Kysely } from 'kysely';
import type { ChannelHandlers, ChannelListener, Database } from '../db/index.js';
import { within } from '../util/within.js';

/** The channel of a volume's changes (one volume per database). */
export const CHANGE_CHANNEL = 'objectfs_changes';
/** NOTIFY payloads must stay below 8000 bytes. */
const MAX_PAYLOAD = 7900;
/**
 * A notice not sent after this long is counted failed and stops holding up the ones after it
 * (it may still arrive). Without a bound, one statement that never answered would stop every
 * later notice of the mount, and its unmount, silently.
 */
const SEND_DEADLINE_MS = 10_000;

/** A directory entry: the name `name` in directory `parent`. */
export interface EntryName {
  readonly parent: number;
  readonly name: Buffer;
}

/** Inodes another client changed. */
export interface Change {
  /** Attributes, data or entries of these inodes changed (includes `renamed`). */
  readonly inos: ReadonlySet<number>;
  /** These inodes lost a name (renamed, unlinked, replaced): paths that led to them are stale. */
  readonly renamed: ReadonlySet<number>;
  /** Names that were added, removed or now lead elsewhere. */
  readonly entries: readonly EntryName[];
  /** Files whose locks were released (not a change of the file). */
  readonly locks?: ReadonlySet<number>;
}

/** What a client does with announcements of other clients. */
export interface ChangeListener {
  onChange(change: Change): void;
  /** Announcements may have been missed: drop everything cached. */
  onReset(): void;
}

export type Listen = (channel: string, handlers: ChannelHandlers) => ChannelListener;

/** Splits a change into payloads below NOTIFY's limit (pure). */
export function encodeChanges(origin: string, change: Change): string[] {
  const out: string[] = [];
  let current = '';
  const items = [...[...change.inos].map((ino) => (change.renamed.has(ino) ? `~${ino}` : String(ino))),
    ...change.entries.map((e) => `@${e.parent}/${e.name.toString('hex')}`), ...[...(change.locks ?? [])].map((ino) => `!${ino}`)];
  for (const item of items) {
    if (current !== '' && origin.length + 1 + current.length + 1 + item.length > MAX_PAYLOAD) {
      out.push(`${origin} ${current}`);
      current = '';
    }
    current = current === '' ? item : `${current},${item}`;
  }
  if (current !== '') out.push(`${origin} ${current}`);
  return out;
}

/** The origin and change of a payload; undefined for anything malformed (pure). */
export function decodeChanges(payload: string): { origin: string; change: Change } | undefined {
  const space = payload.indexOf(' ');
  if (space <= 0) return undefined;
  const inos = new Set<number>();
  const renamed = new Set<number>();
  const entries: EntryName[] = [];
  const locks = new Set<number>();
  for (const item of payload.slice(space + 1).split(',')) {
    if (item.startsWith('!')) {
      const ino = Number(item.slice(1));
      if (!Number.isSafeInteger(ino) || ino <= 0) return undefined;
      locks.add(ino);
      continue;
    }
    if (item.startsWith('@')) {
      const slash = item.indexOf('/');
      const parent = Number(item.slice(1, slash));
      const hex = item.slice(slash + 1);
      if (slash < 0 || !Number.isSafeInteger(parent) || parent <= 0 || !/^([0-9a-f]{2})+$/.test(hex)) return undefined;
      entries.push({ parent, name: Buffer.from(hex, 'hex') });
      continue;
    }
    const named = item.startsWith('~');
    const ino = Number(named ? item.slice(1) : item);
    if (item === '' || !Number.isSafeInteger(ino) || ino <= 0) return undefined;
    inos.add(ino);
    if (named) renamed.add(ino);
  }
  return { origin: payload.slice(0, space), change: { inos, renamed, entries, ...(locks.size > 0 ? { locks } : {}) } };
}

export class ChangeFeed {
  readonly #db: Kysely<Database>;
  readonly #listen: Listen;
  readonly #origin = randomBytes(6).toString('hex');
  readonly #listeners = new Set<ChangeListener>();
  #channel: ChannelListener | undefined;
  #pending = new Set<number>();
  #pendingRenamed = new Set<number>();
  #pendingEntries: EntryName[] = [];
  #pendingLocks = new Set<number>();
  #sending: Promise<void> | undefined;
  #closed = false;
  readonly #metrics: Metrics | undefined;
  readonly #sendDeadlineMs: number;

  constructor(db: Kysely<Database>, listen: Listen, metrics?: Metrics, options: { readonly sendDeadlineMs?: number } = {}) {
    this.#db = db;
    this.#listen = listen;
    this.#metrics = metrics;
    this.#sendDeadlineMs = options.sendDeadlineMs ?? SEND_DEADLINE_MS;
  }

  #count(event: 'sent' | 'send_failed' | 'received' | 'reset'): void {
    this.#metrics?.m.changeNotices.inc({ event });
  }

  /**
   * Announces that `inos` changed and `renamed` lost a name (the change is committed). Best
   * effort, batched.
   */
  publish(inos: Iterable<number | undefined>, renamed: Iterable<number | undefined> = [], entries: readonly EntryName[] = [], locks: Iterable<number> = []): void {
    if (this.#closed) return;
    for (const ino of locks) this.#pendingLocks.add(ino);
    this.#pendingEntries.push(...entries);
    for (const ino of inos) if (ino !== undefined && ino > 0) this.#pending.add(ino);
    for (const ino of renamed) {
      if (ino === undefined || ino <= 0) continue;
      this.#pending.add(ino);
      this.#pendingRenamed.add(ino);
    }
    // Only with something to send: #send() would finish at once, before #sending took its
    // promise, and a settled #sending would never be cleared (no notice would go out again).
    if (this.#sending === undefined && this.#hasPending()) this.#sending = this.#send();
  }

  #hasPending(): boolean {
    return this.#pending.size > 0 || this.#pendingEntries.length > 0 || this.#pendingLocks.size > 0;
  }

  /** Starts listening (on the first subscriber); returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.#listeners.add(listener);
    this.#channel ??= this.#listen(CHANGE_CHANNEL, {
      onMessage: (payload) => this.#receive(payload),
      onReset: () => {
        this.#count('reset');
        for (const l of this.#listeners) l.onReset();
      },
    });
    return () => { this.#listeners.delete(listener); };
  }

  /** Sends what is pending and stops listening. */
  async close(): Promise<void> {
    await this.#sending;
    this.#closed = true;
    await this.#channel?.close();
    this.#channel = undefined;
  }

  async #send(): Promise<void> {
    try {
      while (this.#hasPending()) {
        await new Promise<void>((resolve) => setImmediate(resolve)); // let operations finishing now join the batch
        const batch: Change = { inos: this.#pending, renamed: this.#pendingRenamed, entries: this.#pendingEntries, locks: this.#pendingLocks };
        this.#pending = new Set();
        this.#pendingLocks = new Set();
        this.#pendingRenamed = new Set();
        this.#pendingEntries = [];
        // A lost announcement only delays others to their cache timeouts: never fail an operation for it.
        for (const payload of encodeChanges(this.#origin, batch)) {
          const notify = sql`SELECT pg_notify(${CHANGE_CHANNEL}, ${payload})`.execute(this.#db);
          this.#count(await within(notify, this.#sendDeadlineMs) ? 'sent' : 'send_failed');
        }
      }
    } finally {
      this.#sending = undefined;
    }
  }

  #receive(payload: string): void {
    const change = decodeChanges(payload);
    if (change === undefined) {
      for (const l of this.#listeners) l.onReset();
      return;
    }
    if (change.origin === this.#origin) return;
    this.#count('received');
    for (const l of this.#listeners) l.onChange(change.change);
  }
}
