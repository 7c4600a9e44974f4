/**
 * Space quotas at write(2) time (decision 79). A write returns before its commit and a commit
 * must never fail (it carries data already acknowledged), so growth is admitted or refused
 * here against a host-local view: the volume's and each directory quota's usage as of the last
 * snapshot (one statement, taken about once a second in the background while writes come),
 * plus the growth this host admitted since that snapshot was asked for.
 *
 * After each snapshot the growth this host still holds uncommitted (the vfs says how much, per
 * file) is counted again, so one host alone never passes a limit. What the view misses is
 * other hosts' growth since the snapshot, and that makes the over-commit bound
 * (docs/semantics.md): a host that has admitted SYNC_SLACK bytes against a limit since its
 * snapshot waits for a new one before admitting more, so no host adds more than SYNC_SLACK past
 * a limit that the others do not see: it first commits what it wrote, then reads a snapshot.
 */
import { FsError } from '../errors.js';
import type { MetaEngine, QuotaSnapshot } from '../meta/index.js';

/** How old a snapshot may get before a write asks for a new one (in the background). */
export const QUOTA_SYNC_MS = 1000;
/** Growth a host admits against one limit between two snapshots before it waits for the next. */
export const SYNC_SLACK = 64 * 1024 * 1024;
/** The key of the volume's own capacity in the growth table (directory keys are inodes, > 1). */
const VOLUME = 0;

export class QuotaGuard {
  readonly #meta: Pick<MetaEngine, 'quotaSnapshot' | 'quotaDirsOf' | 'quotaDirsAbove'>;
  readonly #uncommitted: () => Iterable<readonly [ino: number, bytes: number]>;
  readonly #commit: () => Promise<void>;
  readonly #now: () => number;
  readonly #slack: number;
  #snapshot: QuotaSnapshot | undefined;
  #takenAt = 0;
  /** Refreshes begun so far, and the number of the one the current snapshot came from. */
  #refreshes = 0;
  #snapshotFrom = 0;
  /** When a growth was last asked for (ms). */
  #lastAdmit = 0;
  #generation = 0;
  #refreshing: Promise<void> | undefined;
  /** Bytes admitted here since the current snapshot was asked for, per limit. */
  readonly #growth = new Map<number, number>();
  /** The quota'd directories above each file written here, and the snapshot they were read with. */
  readonly #dirsOf = new Map<number, { generation: number; dirs: readonly number[] }>();
  /** Files created here and the directory they were created in (their trees are that directory's). */
  readonly #createdIn = new Map<number, number>();
  /** The quota'd directories at or above each directory files were created in, per snapshot. */
  readonly #dirsAbove = new Map<number, { generation: number; dirs: Promise<readonly number[]> }>();

  /**
   * `files.uncommitted`: the growth of each file written here that is not committed yet;
   * `files.commit`: commits every file's pending writes.
   */
  constructor(meta: Pick<MetaEngine, 'quotaSnapshot' | 'quotaDirsOf' | 'quotaDirsAbove'>,
    files: { readonly uncommitted: () => Iterable<readonly [ino: number, bytes: number]>; readonly commit: () => Promise<void> },
    options: { readonly slackBytes?: number | undefined; readonly now?: () => number } = {}) {
    this.#meta = meta;
    this.#uncommitted = files.uncommitted;
    this.#commit = files.commit;
    this.#now = options.now ?? Date.now;
    this.#slack = options.slackBytes ?? SYNC_SLACK;
  }

  /**
   * Admits `grow` more bytes of file `ino`, or throws ENOSPC (the volume's capacity) or EDQUOT
   * (a directory quota above it). No round trip unless this host has no snapshot yet, writes
   * again after a quiet second while limits exist, has used its slack, is about to refuse, or
   * meets the file for the first time while directory quotas exist.
   */
  async admit(ino: number, grow: number): Promise<void> {
    if (grow <= 0) return;
    // Snapshots begun from here on were read after this write came.
    const asked = this.#refreshes;
    let snap = await this.#current();
    const dirs = snap.dirs.size === 0 ? [] : await this.#dirs(ino);
    const limited = (snap.capacity > 0 ? [VOLUME] : []).concat(dirs.filter((d) => snap.dirs.has(d)));
    if (limited.some((k) => (this.#growth.get(k) ?? 0) + grow > this.#slack)) {
      // The slack is used: what this host wrote goes to the database, then a new snapshot
      // shows it to every host (and theirs to this one).
      await this.#commit();
      await this.#refresh();
      snap = await this.#current();
    }
    let refusal = this.#refusal(snap, dirs, grow);
    // A refusal is rare and final for the caller: it is confirmed against figures read after
    // the write came (room may have been freed here or elsewhere since the snapshot).
    while (refusal !== undefined && this.#snapshotFrom <= asked) {
      await this.#refresh();
      snap = await this.#current();
      refusal = this.#refusal(snap, dirs, grow);
    }
    if (refusal !== undefined) throw refusal;
    this.#add(VOLUME, grow);
    for (const d of dirs) this.#add(d, grow);
  }

  #refusal(snap: QuotaSnapshot, dirs: readonly number[], grow: number): FsError | undefined {
    if (snap.capacity > 0 && snap.usedSpace + (this.#growth.get(VOLUME) ?? 0) + grow > snap.capacity) {
      return FsError.ENOSPC(`volume capacity ${snap.capacity} bytes reached`);
    }
    for (const d of dirs) {
      const q = snap.dirs.get(d);
      if (q !== undefined && q.usedSpace + (this.#growth.get(d) ?? 0) + grow > q.maxSpace) {
        return FsError.of('EDQUOT', `quota of directory ${d} (${q.maxSpace} bytes) reached`);
      }
    }
    return undefined;
  }

  /**
   * File `ino` was just created here in directory `parent`: its quota'd directories are the
   * parent's, read once per directory and snapshot, so a create and write pay no round trip.
   */
  created(ino: number, parent: number): void {
    this.#createdIn.set(ino, parent);
  }

  /** Forgets the quota'd directories of every file (a rename here may have moved one). */
  moved(): void {
    this.#dirsOf.clear();
    this.#createdIn.clear();
    this.#dirsAbove.clear();
  }

  #add(key: number, bytes: number): void {
    this.#growth.set(key, (this.#growth.get(key) ?? 0) + bytes);
  }

  async #current(): Promise<QuotaSnapshot> {
    const now = this.#now();
    const stale = now - this.#takenAt >= QUOTA_SYNC_MS;
    // Where the last figures had a limit, the first write after a quiet second waits for fresh
    // ones (a change meanwhile then applies at once); a steady writer, and a volume that had no
    // limit at all (no round trip on its writes), refresh in the background once a second.
    const limited = this.#snapshot !== undefined && (this.#snapshot.capacity > 0 || this.#snapshot.dirs.size > 0);
    if (this.#snapshot === undefined || (stale && limited && now - this.#lastAdmit >= QUOTA_SYNC_MS)) await this.#refresh();
    else if (stale) void this.#refresh().catch(() => undefined);
    this.#lastAdmit = now;
    if (this.#snapshot === undefined) throw FsError.EIO('no quota figures');
    return this.#snapshot;
  }

  #refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      // Growth admitted from here on is not in the snapshot; growth before it is, once
      // committed: what is still uncommitted now is counted again (a commit landing while the
      // snapshot is read is then counted twice until the next one: on the safe side).
      const marks = new Map(this.#growth);
      const pending = [...this.#uncommitted()];
      const startedAt = this.#now();
      const number = ++this.#refreshes;
      try {
        const snap = await this.#meta.quotaSnapshot();
        for (const [k, v] of marks) {
          const left = (this.#growth.get(k) ?? 0) - v;
          if (left > 0) this.#growth.set(k, left); else this.#growth.delete(k);
        }
        for (const [ino, bytes] of pending) {
          if (bytes <= 0) continue;
          this.#add(VOLUME, bytes);
          for (const d of this.#dirsOf.get(ino)?.dirs ?? []) this.#add(d, bytes);
        }
        this.#snapshot = snap;
        this.#takenAt = startedAt;
        this.#snapshotFrom = number;
        this.#generation++;
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async #dirs(ino: number): Promise<readonly number[]> {
    const known = this.#dirsOf.get(ino);
    if (known !== undefined) {
      // Read again in the background after each snapshot: a quota set meanwhile counts soon.
      if (known.generation !== this.#generation) {
        const generation = this.#generation;
        this.#dirsOf.set(ino, { generation, dirs: known.dirs });
        void this.#meta.quotaDirsOf(ino).then((dirs) => { this.#dirsOf.set(ino, { generation, dirs }); }, () => undefined);
      }
      return known.dirs;
    }
    const parent = this.#createdIn.get(ino);
    const dirs = parent === undefined ? await this.#meta.quotaDirsOf(ino) : await this.#above(parent);
    if (!this.#dirsOf.has(ino)) {
      // Growth of this file still uncommitted was counted for the volume only: now for its trees too.
      for (const [i, bytes] of this.#uncommitted()) if (i === ino && bytes > 0) for (const d of dirs) this.#add(d, bytes);
    }
    this.#dirsOf.set(ino, { generation: this.#generation, dirs });
    return dirs;
  }

  #above(dir: number): Promise<readonly number[]> {
    const known = this.#dirsAbove.get(dir);
    if (known !== undefined && known.generation === this.#generation) return known.dirs;
    const dirs = this.#meta.quotaDirsAbove(dir);
    dirs.catch(() => { if (this.#dirsAbove.get(dir)?.dirs === dirs) this.#dirsAbove.delete(dir); });
    this.#dirsAbove.set(dir, { generation: this.#generation, dirs });
    return dirs;
  }

  /** Drops what is kept for a file no longer open here. */
  forget(ino: number): void {
    this.#dirsOf.delete(ino);
    this.#createdIn.delete(ino);
  }
}
