/**
 * The write buffer of one inode on this host. Writes become slices (one per contiguous run
 * inside a 64 MiB chunk); a slice's full blocks upload in the background as they fill. A
 * slice is committed to the metadata only after all its blocks are stored, in creation order
 * within its chunk (later entries win byte by byte), when it reaches the end of its chunk,
 * when too many are open, when the write buffer is under pressure, or at flush/fsync/close.
 *
 * O_APPEND writes go to append slices instead, which have no place in the file until their
 * commit puts them at the end the database has then (decision 67): consecutive appends here
 * share a slice, commit in order, and never overwrite another host's.
 */
import { CHUNK_SIZE, nowNs } from '../meta/index.js';
import { FsError } from '../errors.js';
import type { ChunkStore, SliceWriter } from '../chunk/index.js';
import type { Attr, MetaEngine, SliceCommit } from '../meta/index.js';
import { Serial } from './serial.js';

/** Open slices per chunk before the older ones are committed in the background. */
const MAX_OPEN_SLICES_PER_CHUNK = 16;

interface OpenSlice {
  readonly index: number;
  /** Offset of the slice inside its chunk. */
  readonly pos: number;
  readonly writer: SliceWriter;
  sealed: boolean;
  /** Date.now() when the slice was started: its blocks were all uploaded after this. */
  readonly startedAt: number;
}

/** O_APPEND data not committed yet: its place in the file is decided by its commit. */
interface AppendSlice {
  readonly writer: SliceWriter;
  /** Where this host's kernel put the first byte (the end as known here); the commit may differ. */
  readonly at: number;
  sealed: boolean;
  readonly startedAt: number;
}

interface ChunkQueue {
  /** Slices not yet handed to the commit chain, in creation order. */
  open: OpenSlice[];
  /** Commits of this chunk, strictly in order. */
  commits: Promise<void>;
}

export interface FileWriterDeps {
  readonly meta: Pick<MetaEngine, 'newSliceId'>;
  readonly chunks: ChunkStore;
  /** Commits one slice (MetaEngine.commitSlice, through the owner's attribute tracking). */
  readonly commitSlice: (commit: SliceCommit) => Promise<Attr>;
  /** Commits an append slice at the file's end (MetaEngine.commitAppend); resolves with its offset. */
  readonly commitAppend: (id: number, size: number, mtime: bigint, staged: boolean) => Promise<number>;
  /**
   * Write-back (decision 90): slices are staged on the local disk, committed as staged, and
   * `onStaged` is told of each one committed so (the stage uploads it later).
   */
  readonly staged: boolean;
  readonly onStaged: (id: number, size: number) => void;
  /** Called after each committed slice of chunk `index`. */
  readonly onCommit: (index: number) => void;
  /** An append landed elsewhere than this host's kernel placed it: its pages and length are wrong. */
  readonly onAppendMoved: () => void;
}

export class FileWriter {
  readonly ino: number;
  readonly #deps: FileWriterDeps;
  readonly #chunks = new Map<number, ChunkQueue>();
  readonly #serial = new Serial();
  /** The slice an in-progress write appends to: never sealed under it. */
  #active: OpenSlice | AppendSlice | undefined;
  /** The O_APPEND slice taking writes, if any. */
  #appendOpen: AppendSlice | undefined;
  /** Commits of append slices, strictly in order. */
  #appendCommits: Promise<void> = Promise.resolve();
  #error: unknown;
  /**
   * Highest byte offset written here and not yet committed; 0 once everything is committed: an
   * old end must not outlive its commits, or an append after another host truncated the file
   * would start past the new end and leave zeros nobody wrote.
   */
  #end = 0;
  #pendingSlices = 0;
  /** Of those, append slices: regular and append data never wait on each other's commits. */
  #pendingAppends = 0;
  /** Time of the latest write: the mtime its commit records (not the time of the commit). */
  #writtenAt = 0n;

  constructor(ino: number, deps: FileWriterDeps) {
    this.ino = ino;
    this.#deps = deps;
  }

  /** True while written data is not committed yet. */
  get dirty(): boolean {
    return this.#pendingSlices > 0;
  }

  /** End offset of the data written here (for getattr before commit). */
  get end(): number {
    return this.#end;
  }

  write(off: number, data: Buffer): Promise<void> {
    return this.#serial.run(async () => {
      // Appends written before sit where the kernel put them only once committed: commit them
      // first, or this write's commit could land before them and they after it.
      if (this.#pendingAppends > 0) await this.#commitAppends();
      this.#throwFailure();
      let pos = off;
      let rest = data;
      while (rest.length > 0) {
        const index = Math.floor(pos / CHUNK_SIZE);
        const inChunk = pos - index * CHUNK_SIZE;
        const n = Math.min(rest.length, CHUNK_SIZE - inChunk);
        const slice = await this.#sliceFor(index, inChunk);
        this.#active = slice;
        try {
          await slice.writer.append(rest.subarray(0, n));
        } finally {
          this.#active = undefined;
        }
        this.#end = Math.max(this.#end, pos + n);
        this.#writtenAt = nowNs();
        if (slice.pos + slice.writer.length === CHUNK_SIZE) this.#seal(this.#queue(index), 1);
        pos += n;
        rest = rest.subarray(n);
      }
    });
  }

  /**
   * An O_APPEND write: `data` goes after everything appended here before, at the end of the
   * file as the database has it when its slice commits. `at` is where this host's kernel put it
   * (the end as known here), which getattr reports until then.
   */
  append(at: number, data: Buffer): Promise<void> {
    return this.#serial.run(async () => {
      // The end of file includes this host's uncommitted writes (as locally): commit them first,
      // so that the append's commit finds them in the database's length.
      if (this.#pendingSlices > this.#pendingAppends) await this.#commitRegular();
      this.#throwFailure();
      let rest = data;
      while (rest.length > 0) {
        let slice = this.#appendOpen;
        if (slice === undefined || slice.writer.length === CHUNK_SIZE) {
          this.#sealAppend();
          const id = await this.#deps.meta.newSliceId();
          slice = { writer: this.#deps.chunks.newSliceWriter(id, { staged: this.#deps.staged }), at: Math.max(at, this.#end), sealed: false, startedAt: Date.now() };
          this.#appendOpen = slice;
          this.#pendingSlices++;
          this.#pendingAppends++;
        }
        // A slice spans at most a chunk's worth, so that its commit splits it in two at most.
        const n = Math.min(rest.length, CHUNK_SIZE - slice.writer.length);
        this.#active = slice;
        try {
          await slice.writer.append(rest.subarray(0, n));
        } finally {
          this.#active = undefined;
        }
        this.#end = Math.max(this.#end, slice.at + slice.writer.length);
        this.#writtenAt = nowNs();
        rest = rest.subarray(n);
      }
    });
  }

  /** Commits everything written so far; rejects with the first failure since the last flush. */
  flush(): Promise<void> {
    return this.#serial.run(async () => {
      await Promise.all([this.#commitRegular(), this.#commitAppends()]);
      this.#throwFailure();
    });
  }

  /** Seals the regular slices and waits for their commits (failures are kept for #throwFailure). */
  async #commitRegular(): Promise<void> {
    for (const q of this.#chunks.values()) this.#seal(q, q.open.length);
    await Promise.all([...this.#chunks.values()].map((q) => q.commits));
  }

  async #commitAppends(): Promise<void> {
    this.#sealAppend();
    await this.#appendCommits;
  }

  /**
   * Write-buffer pressure: commit every open slice except the one a write is appending to,
   * so their partial blocks upload and free buffer space.
   */
  sealIdle(): void {
    for (const q of this.#chunks.values()) {
      const keep = q.open.some((slice) => slice === this.#active) ? 1 : 0;
      this.#seal(q, q.open.length - keep);
    }
    if (this.#active !== this.#appendOpen) this.#sealAppend();
  }

  /**
   * Commits the slices started before `startedBefore` (except one a write is appending to):
   * uploaded blocks must not stay unreferenced for longer than gc's safety window, or gc would
   * take them for leaked. A file appended slowly and never flushed commits this way.
   */
  sealStartedBefore(startedBefore: number): void {
    for (const q of this.#chunks.values()) {
      let n = 0;
      while (n < q.open.length && q.open[n] !== this.#active && (q.open[n]?.startedAt ?? Infinity) < startedBefore) n++;
      this.#seal(q, n);
    }
    const append = this.#appendOpen;
    if (append !== undefined && append !== this.#active && append.startedAt < startedBefore) this.#sealAppend();
  }

  /** The file was truncated to `length` (after a flush): later appends and getattr start there. */
  truncated(length: number): void {
    this.#end = Math.min(this.#end, length);
  }

  /** Drops everything not committed (the inode is gone). */
  abort(): void {
    for (const q of this.#chunks.values()) {
      for (const s of q.open) s.writer.abort();
      q.open = [];
    }
    this.#appendOpen?.writer.abort();
    this.#appendOpen = undefined;
  }

  #throwFailure(): void {
    const err = this.#error;
    if (err === undefined) return;
    this.#error = undefined; // reported once, like an errseq in the kernel
    throw err instanceof FsError ? err : FsError.EIO(`writing inode ${this.ino} failed: ${(err as Error)?.message ?? String(err)}`, err);
  }

  #queue(index: number): ChunkQueue {
    let q = this.#chunks.get(index);
    if (q === undefined) {
      q = { open: [], commits: Promise.resolve() };
      this.#chunks.set(index, q);
    }
    return q;
  }

  /** The newest open slice of the chunk if this write continues it, else a new slice. */
  async #sliceFor(index: number, inChunk: number): Promise<OpenSlice> {
    const q = this.#queue(index);
    const last = q.open[q.open.length - 1];
    if (last !== undefined && !last.sealed && last.pos + last.writer.length === inChunk) return last;
    if (q.open.length >= MAX_OPEN_SLICES_PER_CHUNK) this.#seal(q, q.open.length);
    const id = await this.#deps.meta.newSliceId();
    const slice: OpenSlice = { index, pos: inChunk, writer: this.#deps.chunks.newSliceWriter(id, { staged: this.#deps.staged }), sealed: false, startedAt: Date.now() };
    q.open.push(slice);
    this.#pendingSlices++;
    return slice;
  }

  /** Hands the first `count` open slices of a chunk to its commit chain. */
  #seal(q: ChunkQueue, count: number): void {
    const sealed = q.open.splice(0, Math.max(0, count));
    for (const slice of sealed) {
      slice.sealed = true;
      q.commits = q.commits.then(() => this.#commit(slice)).catch((err: unknown) => {
        this.#error ??= err;
      });
    }
  }

  /** Hands the open append slice to the append commit chain. */
  #sealAppend(): void {
    const slice = this.#appendOpen;
    if (slice === undefined) return;
    this.#appendOpen = undefined;
    slice.sealed = true;
    this.#appendCommits = this.#appendCommits.then(() => this.#commitAppend(slice)).catch((err: unknown) => {
      this.#error ??= err;
    });
  }

  async #commitAppend(slice: AppendSlice): Promise<void> {
    try {
      if (this.#error !== undefined) {
        slice.writer.abort(); // as in #commit: nothing after a failure, or a line could go missing from the middle
        return;
      }
      await slice.writer.finish();
      const len = slice.writer.length;
      if (len === 0) return;
      const at = await this.#deps.commitAppend(slice.writer.id, len, this.#writtenAt, this.#deps.staged);
      if (this.#deps.staged) this.#deps.onStaged(slice.writer.id, len);
      for (let index = Math.floor(at / CHUNK_SIZE); index * CHUNK_SIZE < at + len; index++) this.#deps.onCommit(index);
      if (at !== slice.at) this.#deps.onAppendMoved();
    } finally {
      this.#pendingAppends--;
      if (--this.#pendingSlices === 0) this.#end = 0;
    }
  }

  async #commit(slice: OpenSlice): Promise<void> {
    try {
      if (this.#error !== undefined) {
        // An earlier slice of this file failed: committing later ones out of order could
        // expose a mix, so they are dropped and the failure is reported.
        slice.writer.abort();
        return;
      }
      await slice.writer.finish();
      const len = slice.writer.length;
      if (len === 0) return;
      await this.#deps.commitSlice({
        ino: this.ino,
        index: slice.index,
        entry: { pos: slice.pos, id: slice.writer.id, size: len, off: 0, len },
        length: slice.index * CHUNK_SIZE + slice.pos + len,
        mtime: this.#writtenAt,
        ...(this.#deps.staged ? { staged: true } : {}),
      });
      if (this.#deps.staged) this.#deps.onStaged(slice.writer.id, len);
      this.#deps.onCommit(slice.index);
    } finally {
      if (--this.#pendingSlices === 0) this.#end = 0;
    }
  }
}
