/**
 * Value types of the metadata engine. Inode numbers are JS numbers (they stay far below
 * 2^53); times are bigint nanoseconds since the epoch, as stored.
 */
import type { Logger } from '../util/log.js';
import type { SliceEntry } from './slice-list.js';

/** Node types as stored in node.type and edge.type (JuiceFS numbering). */
export const NODE_TYPES = ['file', 'directory', 'symlink', 'fifo', 'blockdev', 'chardev', 'socket'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

/** The stored code of each node type (1-based, as in JuiceFS). */
export const NODE_TYPE_CODE: Readonly<Record<NodeType, number>> = Object.freeze({
  file: 1, directory: 2, symlink: 3, fifo: 4, blockdev: 5, chardev: 6, socket: 7,
});

/** st_mode type bits of each node type (S_IFREG …). */
export const NODE_TYPE_MODE_BITS: Readonly<Record<NodeType, number>> = Object.freeze({
  file: 0o100000, directory: 0o040000, symlink: 0o120000, fifo: 0o010000,
  blockdev: 0o060000, chardev: 0o020000, socket: 0o140000,
});

export function nodeTypeFromCode(code: number): NodeType {
  const t = NODE_TYPES[code - 1];
  if (t === undefined) throw new Error(`unknown node type code ${code}`);
  return t;
}

/** Inode number of the root directory. */
export const ROOT_INO = 1;
/**
 * Inode of the hidden trash directory `/.trash` (decision 78): fixed so that every host finds
 * it without a lookup, and far above any allocated inode number. Its hour directories are
 * TRASH_INO + 1 + hours since the epoch, so two hosts creating one cannot make two.
 */
export const TRASH_INO = 2 ** 47;
/** The name under which the root shows the trash (it has no entry there: not listed). */
export const TRASH_NAME = '.trash';
/** Whether `ino` is the trash or one of its hour directories (no entry may be created there). */
export function isTrashDir(ino: number): boolean {
  return ino >= TRASH_INO;
}
/** Longest name in bytes (ENAMETOOLONG beyond). */
export const MAX_NAME_BYTES = 255;
/** Longest symlink target in bytes. */
export const MAX_SYMLINK_BYTES = 4096;
/** Xattr limits (Linux VFS limits). */
export const MAX_XATTR_NAME_BYTES = 255;
export const MAX_XATTR_VALUE_BYTES = 65536;

/** Attributes of one inode, as the kernel sees them. */
export interface Attr {
  readonly ino: number;
  readonly type: NodeType;
  /** Permission bits only (07777); the type bits follow from `type`. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly nlink: number;
  /** File length in bytes (0 for directories; target length for symlinks). */
  readonly length: number;
  readonly rdev: number;
  readonly atime: bigint;
  readonly mtime: bigint;
  readonly ctime: bigint;
  /** Parent directory for directories (and single-link files); 0 when unknown (hard links). */
  readonly parent: number;
}

/** st_mode (type bits | permission bits) of an Attr. */
export function stMode(attr: Pick<Attr, 'type' | 'mode'>): number {
  return NODE_TYPE_MODE_BITS[attr.type] | attr.mode;
}

/** Who does an operation: the owner of what it creates. */
export interface Caller {
  readonly uid: number;
  readonly gid: number;
}

/** A directory entry, with the attributes of its inode. */
export interface DirEntry {
  readonly name: Buffer;
  readonly ino: number;
  readonly type: NodeType;
  readonly attr: Attr;
  /** Whether the inode has extended attributes (false: none, as of the listing). */
  readonly xattrs?: boolean;
}

/** A page of a directory listing, in ascending byte order of names. */
export interface DirPage {
  readonly entries: readonly DirEntry[];
  /** Pass back as `after` for the next page; undefined at the end. */
  readonly next?: Buffer;
}

/** Changes for setattr; absent fields are left alone. ctime is set to now unless given. */
export interface AttrChanges {
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly length?: number;
  readonly atime?: bigint | 'now';
  readonly mtime?: bigint | 'now';
  readonly ctime?: bigint;
}

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

/** Result of a rename: the inode that the destination name pointed at and lost, if any. */
/**
 * The directories an operation changed, as its own statement left them (the FUSE layer answers
 * the kernel's next GETATTR of them from this); absent when a later statement of the same
 * transaction changed them again.
 */
export interface ChangedDirs {
  readonly dirs?: readonly Attr[];
}

/** A new entry's inode; `dirs`: its directory as the create left it. */
export type NewEntryAttr = Attr & ChangedDirs;

export interface RenameResult extends ChangedDirs {
  readonly ino: number;
  /** Inode that was replaced at the destination (its link count dropped), if any. */
  readonly replaced?: number;
  /** True when the replaced inode lost its last link. */
  readonly replacedGone?: boolean;
}

/** Result of an unlink. */
export interface UnlinkResult extends ChangedDirs {
  readonly ino: number;
  /** The inode lost its last link (its data goes to deferred deletion once closed). */
  readonly gone: boolean;
  /** The last name went and the file with it to the trash (decision 78): it lives on there. */
  readonly trashed?: boolean;
}

export const XATTR_CREATE = 1;
export const XATTR_REPLACE = 2;

export interface StatFs {
  /** Capacity in bytes (the volume quota, or a large nominal size when unlimited). */
  readonly totalSpace: number;
  readonly availSpace: number;
  readonly usedSpace: number;
  readonly totalInodes: number;
  readonly availInodes: number;
  readonly usedInodes: number;
}

/** The stored volume record. */
export interface VolumeRecord {
  readonly uuid: string;
  readonly name: string;
  readonly blockSize: number;
  readonly compression: 'lz4' | 'none';
  readonly storage: string;
  readonly trashDays: number;
  readonly formatVersion: number;
  readonly createdAt: bigint;
  /** Capacity quota in bytes; 0 = unlimited. */
  readonly capacity: number;
  /** Inode quota; 0 = unlimited. */
  readonly inodes: number;
  /** S3 storage class of new objects; undefined = the bucket's default. A mount may override it. */
  readonly storageClass?: string | undefined;
  /** When `objectfs destroy` began (ms since the epoch); undefined while the volume is not being destroyed. */
  readonly destroyingSince?: number | undefined;
}

/** A mount session as registered in the database. */
export interface SessionInfo {
  readonly host: string;
  readonly pid: number;
  readonly mountPoint: string;
  readonly version: string;
  readonly processName?: string;
  /** The directory of the volume a sub-directory mount serves as its root (`/a/b`). */
  readonly subdir?: string;
  /** The client's own figures as of its last heartbeat. */
  readonly stats?: SessionStats;
}

/** What a mount publishes about itself at each heartbeat. */
export interface SessionStats {
  /** Blocks written and not yet in the object store. */
  readonly uploadQueueBlocks: number;
  /** Age of the oldest of them in ms (0 if none). */
  readonly uploadOldestMs: number;
  /** Write buffer in use, bytes. */
  readonly bufferBytes: number;
  /** When these figures were taken, ms since the epoch. */
  readonly at: number;
}

export interface SessionRow {
  readonly sid: number;
  readonly info: SessionInfo;
  /** Heartbeat deadline, ms since the epoch. */
  readonly expire: number;
  /** Time of the last heartbeat (or registration), ms since the epoch; 0 if never recorded. */
  readonly heartbeat: number;
}

/** The slice list of one chunk and the version that compaction bumps. */
export interface ChunkRecord {
  readonly slices: readonly SliceEntry[];
  /** Bumped on every change of the list (append, truncate, compaction); 0 when never written. */
  readonly version: number;
  /**
   * The file's length in the same snapshot as `slices`: only bytes below it are data in this
   * list (a truncate appends a zero entry over the cut part, which a later write may cover).
   */
  readonly length: number;
}

/** Commit of one written slice into a chunk. */
export interface SliceCommit {
  readonly ino: number;
  /** Chunk index (file offset >> CHUNK_BITS). */
  readonly index: number;
  readonly entry: SliceEntry;
  /** File length after this write; the stored length only grows here. */
  readonly length: number;
  /** Modification time to record (default now). */
  readonly mtime?: bigint;
  /** The slice's blocks are staged on this session's disk, not uploaded yet (write-back): recorded in the same statement. */
  readonly staged?: boolean;
}

/** The part of a logger the engine uses. */
export type MetaLog = Pick<Logger, 'info' | 'warn'>;
