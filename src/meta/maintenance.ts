/**
 * What fsck and gc ask of the metadata: read-only scans that stream (keyset pages, or one
 * statement whose answer holds only the problems), a scratch session whose temporary tables
 * hold the big sets (live slices, listed objects) on the database's disk rather than in this
 * process, and repairs, each one transaction that re-checks under row locks what the scan saw.
 *
 * Every scan statement sees one snapshot (READ COMMITTED gives each statement its own), so a
 * row is never judged against a half-done operation of a busy volume; what two statements see
 * may differ, which is why repairs re-check and gc re-checks before deleting.
 */
import type { NodeType } from './types.js';
import type { StagedSlice } from './staged.js';

/** One inode with the link counts the edges imply (nodePage). */
export interface NodeAudit {
  readonly ino: number;
  /** Stored type code (1 file … 7 socket); anything else is corruption. */
  readonly typeCode: number;
  readonly nlink: number;
  readonly length: number;
  /** Edges naming this inode. */
  readonly edges: number;
  /** Edges of type directory under this inode (directories only; 0 otherwise). */
  readonly subdirs: number;
  /** A session keeps it open after its last unlink (`sustained`). */
  readonly kept: boolean;
}

/** One directory entry with the types of both ends (edgePage); null when that node is missing. */
export interface EdgeAudit {
  readonly parent: number;
  readonly name: Buffer;
  readonly ino: number;
  readonly typeCode: number;
  readonly nodeTypeCode: number | null;
  readonly parentTypeCode: number | null;
}

/** Keyset position of edgePage. */
export interface EdgeCursor {
  readonly parent: number;
  readonly name: Buffer;
}

/** One chunk row, undecoded (chunkPage): decoding is fsck's check. */
export interface ChunkAudit {
  readonly ino: number;
  readonly index: number;
  readonly slices: Buffer;
  /** Type code of the owning node; null when the node is missing. */
  readonly nodeTypeCode: number | null;
}

/** A slice whose stored reference count differs from the entries naming it. */
export interface SliceRefMismatch {
  readonly id: number;
  /** Size as named by the entries (or the slice_ref row). */
  readonly size: number;
  /** Chunk and dropped-list entries naming the slice. */
  readonly actual: number;
  /** slice_ref.refs (0 when there is no row). */
  readonly stored: number;
  /** The slice also sits in pending_slice: its objects would be deleted while referenced. */
  readonly pending: boolean;
}

/** Usage counters as stored and as recomputed from the nodes. */
export interface UsageAudit {
  readonly storedSpace: number;
  readonly storedInodes: number;
  readonly space: number;
  readonly inodes: number;
}

/** Deferred-deletion work waiting (gc reports it; the deleter does it). */
export interface PendingAudit {
  readonly droppedLists: number;
  readonly pendingSlices: number;
  readonly pendingBytes: number;
  /** Inodes kept open after their last unlink by sessions whose heartbeat expired. */
  readonly deadSessionInodes: number;
}

/** Where a live slice id is named; bits of LiveSlice.sources. */
export const SLICE_SOURCE = Object.freeze({ chunk: 1, dropped: 2, pending: 4, sliceRef: 8 });

/** A slice id and size named somewhere in the metadata. */
export interface LiveSlice {
  readonly id: number;
  readonly size: number;
  /** OR of SLICE_SOURCE bits. */
  readonly sources: number;
}

/** A listed block object, as stored in the scratch session (fsck). */
export interface ListedBlock {
  readonly sliceId: number;
  readonly blockIndex: number;
  readonly blockLen: number;
  /** Stored (compressed) size. */
  readonly size: number;
}

/** A chunk worth compacting (more than one entry). */
export interface FragmentedChunk {
  readonly ino: number;
  readonly index: number;
  readonly entries: number;
}

/** Read-only scans over one pinned connection, with temporary tables (see MetaMaintenance.scan). */
export interface MaintenanceScan {
  /** Limits nodePage, edgePage and chunkPage to the subtree of directory `ino`; returns its inode count. */
  restrictTo(ino: number): Promise<number>;
  /** Inodes after `after`, ascending. */
  nodePage(after: number, limit: number): Promise<NodeAudit[]>;
  /** Edges after `after` in (parent, name) order. */
  edgePage(after: EdgeCursor | undefined, limit: number): Promise<EdgeAudit[]>;
  /** Chunk rows after (ino, index). */
  chunkPage(after: readonly [number, number] | undefined, limit: number): Promise<ChunkAudit[]>;
  /** Slices whose slice_ref count is wrong, whole volume, ascending id, at most `limit`. */
  sliceRefMismatches(limit: number): Promise<SliceRefMismatch[]>;
  usage(): Promise<UsageAudit>;
  pending(now?: number): Promise<PendingAudit>;
  /**
   * Snapshots every slice id the metadata names (chunk lists — of the restricted subtree, if
   * any —, dropped lists, pending_slice, slice_ref) into a temporary table; returns its rows.
   */
  snapshotLiveSlices(): Promise<number>;
  /** Slices staged by write-back mounts and not uploaded yet (staged.ts). */
  stagedSlices(): Promise<StagedSlice[]>;
  /** Snapshot rows after `afterId` having any of `sources` bits, ascending id. */
  liveSlicePage(afterId: number, limit: number, sources: number): Promise<LiveSlice[]>;
  /** Snapshot rows of the given ids (an id named with two sizes gives two rows). */
  liveSlices(ids: readonly number[]): Promise<LiveSlice[]>;
  /** Records listed block objects in a temporary table (fsck's data check). */
  addListedBlocks(blocks: readonly ListedBlock[]): Promise<void>;
  /** Recorded listed blocks of the given slice ids. */
  listedBlocks(ids: readonly number[]): Promise<ListedBlock[]>;
  /** Inodes whose chunk lists name each of `ids`. */
  inodesUsing(ids: readonly number[]): Promise<Map<number, number[]>>;
  /** A path of `ino` from the root ("/a/b"), or undefined when it has no edge up to the root. */
  pathOf(ino: number): Promise<string | undefined>;
  /** The inode at `path` (absolute, '/'-separated) and its type. */
  resolve(path: string): Promise<{ readonly ino: number; readonly type: NodeType }>;
  /** Chunks with more than one entry after (ino, index). */
  fragmentedChunks(after: readonly [number, number] | undefined, limit: number): Promise<FragmentedChunk[]>;
}

/** What a repair changed, for fsck's report. */
export interface RepairResult {
  readonly changed: boolean;
  readonly detail: string;
}

export interface MetaMaintenance {
  /** Runs `fn` with a scan session on one pinned connection; its temporary tables go with it. */
  scan<T>(fn: (scan: MaintenanceScan) => Promise<T>): Promise<T>;
  /** Sets the link count of `ino` to what its edges imply (re-counted under the row lock). */
  repairLinkCount(ino: number): Promise<RepairResult>;
  /** Gives an inode with no edge a name `#<ino>` in /lost+found (created if needed). */
  moveToLostFound(ino: number): Promise<RepairResult>;
  /** Recomputes used_space and used_inodes from the nodes. */
  repairUsage(): Promise<RepairResult>;
  /**
   * Sets slice_ref of each slice to the entries naming it (re-counted under row locks): a
   * slice named nowhere moves to pending_slice, a named one leaves pending_slice. Results by id.
   */
  repairSliceRefs(slices: readonly { readonly id: number; readonly size: number }[]): Promise<Map<number, RepairResult>>;
  /** Ids among `ids` that slice_ref or pending_slice name now (gc's re-check before deleting). */
  namedSliceIds(ids: readonly number[]): Promise<Set<number>>;
}
