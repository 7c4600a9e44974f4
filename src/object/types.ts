/**
 * Object storage contract. Every backend (s3, file) and every decorator (prefix, fault
 * injection, metrics) implements ObjectStore, so they compose freely.
 *
 * Keys are '/'-separated strings without a leading '/'. Objects are immutable once put:
 * ObjectFS never overwrites a block with different content, so a put is idempotent.
 */

/** Metadata of one stored object. */
export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  /** Last modification time in ms since the epoch. */
  readonly mtime: number;
}

/** One page of a listing; pass `next` back as `startAfter`/`token` to continue. */
export interface ObjectPage {
  readonly objects: readonly ObjectInfo[];
  /** Opaque continuation; undefined when the listing is complete. */
  readonly next?: string;
}

export interface GetOptions {
  /** First byte to return (default 0). */
  readonly offset?: number;
  /** Number of bytes from offset (default: to the end). */
  readonly length?: number;
  readonly signal?: AbortSignal;
  /**
   * Called with the size of the whole object before get resolves, where the backend learns it
   * (S3: the Content-Range of a ranged answer): a ranged reader can tell what kind of object
   * it read a part of without a second request.
   */
  readonly onObjectSize?: (size: number) => void;
}

export interface PutOptions {
  readonly signal?: AbortSignal;
  /** S3 storage class for the new object; ignored by backends without classes. */
  readonly storageClass?: string;
  /** SHA-256 (hex) of `data`, if already known: S3 then signs with it instead of hashing. */
  readonly sha256?: string;
}

export interface ListOptions {
  /** Only keys starting with this prefix. */
  readonly prefix?: string;
  /** Continuation from a previous page's `next`. */
  readonly token?: string;
  /** Page size hint, at most 1000 on S3 (default: the store's own page size, 1000 on S3). */
  readonly limit?: number;
  readonly signal?: AbortSignal;
}

export interface ObjectStore {
  /** A human-readable description with no secrets, e.g. `s3://bucket/prefix` or `file:///dir`. */
  describe(): string;
  /**
   * Bytes of `key` (or a range of it), in memory the caller owns from then on (the codec may move
   * it to its worker, which detaches it here): never a buffer the store keeps. Throws
   * ObjectNotFoundError if absent.
   */
  get(key: string, options?: GetOptions): Promise<Buffer>;
  /** Stores `data` under `key` atomically: readers see the whole object or none. Idempotent. */
  put(key: string, data: Buffer, options?: PutOptions): Promise<void>;
  /** Removes `key`; removing an absent key succeeds (idempotent). */
  delete(key: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Size and mtime of `key`, or undefined if absent. */
  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectInfo | undefined>;
  /** One page of keys in ascending byte order. */
  list(options?: ListOptions): Promise<ObjectPage>;
  /** Releases sockets and handles; the store is unusable afterwards. */
  close(): Promise<void>;
}
