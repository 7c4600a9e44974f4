/**
 * Every metric ObjectFS exports: name, type, label names and help text, in one place.
 * docs/metrics.md is generated from this list (metricsMarkdown, checked by a unit test), and
 * metrics.ts builds the prom-client objects from it. Units follow Prometheus conventions:
 * seconds, bytes, and `_total` for counters.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricDef {
  readonly name: string;
  readonly type: MetricType;
  readonly labels: readonly string[];
  readonly help: string;
}

const def = <const T extends MetricType, const L extends readonly string[]>(name: string, type: T, labels: L, help: string) =>
  Object.freeze({ name, type, labels, help });

/** Keyed by the field name on Metrics. */
export const METRIC_DEFS = Object.freeze({
  fuseOps: def('objectfs_fuse_ops_total', 'counter', ['op'], 'FUSE operations answered, by operation (errors included).'),
  fuseOpErrors: def('objectfs_fuse_op_errors_total', 'counter', ['op', 'errno'], 'FUSE operations answered with an error, by operation and errno name.'),
  fuseOpSeconds: def('objectfs_fuse_op_duration_seconds', 'histogram', ['op'], 'Time from a FUSE request to its reply, by operation.'),
  fuseReadBytes: def('objectfs_fuse_read_bytes_total', 'counter', [], 'Bytes returned by FUSE reads.'),
  fuseWrittenBytes: def('objectfs_fuse_written_bytes_total', 'counter', [], 'Bytes accepted by FUSE writes.'),
  fuseKernelInodes: def('objectfs_fuse_kernel_inodes', 'gauge', [], 'Inodes the kernel holds lookup references to (given by entry replies, not yet forgotten).'),
  fuseDirStreams: def('objectfs_fuse_dir_streams', 'gauge', [], 'Open directory streams (opendir without releasedir).'),
  fusePendingRequests: def('objectfs_fuse_pending_requests', 'gauge', [], 'FUSE requests delivered and not answered yet.'),
  fuseNoticesWaiting: def('objectfs_fuse_notices_waiting', 'gauge', [], 'Kernel cache invalidations (another host\'s changes) queued for the kernel and not handed over yet; a count that stays up means the kernel holds them back.'),
  fuseNoticesSent: def('objectfs_fuse_notices_sent_total', 'counter', [], 'Kernel cache invalidations handed to the kernel.'),
  fuseLiveRequests: def('objectfs_fuse_live_requests', 'gauge', [], 'Request structures alive in the native binding (answered ones until JavaScript lets go of them).'),

  metaTxSeconds: def('objectfs_meta_tx_duration_seconds', 'histogram', ['kind'], 'Metadata transactions (kind=transaction) and single statements (kind=statement), retries included.'),
  metaTxRestarts: def('objectfs_meta_tx_restarts_total', 'counter', ['kind'], 'Metadata transactions rerun after a serialization failure, deadlock, lost connection or detected race.'),
  metaTxErrors: def('objectfs_meta_tx_errors_total', 'counter', ['kind'], 'Metadata transactions that failed for good (POSIX errors such as EEXIST included).'),

  objectRequests: def('objectfs_object_requests_total', 'counter', ['method'], 'Object store requests by method (get, put, delete, head, list).'),
  objectRequestErrors: def('objectfs_object_request_errors_total', 'counter', ['method'], 'Object store requests that failed (after the store\'s own retries).'),
  objectRequestBytes: def('objectfs_object_request_bytes_total', 'counter', ['method'], 'Bytes sent (put) or received (get) by object store requests.'),
  objectRequestSeconds: def('objectfs_object_request_duration_seconds', 'histogram', ['method'], 'Object store request latency by method.'),
  objectRequestCost: def('objectfs_object_request_cost_dollars_total', 'counter', ['method'], 'Estimated request cost in US dollars (S3 Standard request prices; see docs/metrics.md). Storage and transfer are not included.'),

  cacheHits: def('objectfs_cache_hits_total', 'counter', ['tier'], 'Block cache lookups answered, by tier (memory, disk).'),
  cacheMisses: def('objectfs_cache_misses_total', 'counter', ['tier'], 'Block cache lookups not answered, by tier.'),
  cacheEvictions: def('objectfs_cache_evictions_total', 'counter', ['tier'], 'Blocks dropped to respect a tier\'s bound (or the disk\'s free-space ratio).'),
  cacheBytes: def('objectfs_cache_bytes', 'gauge', ['tier'], 'Bytes of blocks held by a tier.'),
  cacheBlocks: def('objectfs_cache_blocks', 'gauge', ['tier'], 'Blocks held by a tier.'),
  cacheLimitBytes: def('objectfs_cache_limit_bytes', 'gauge', ['tier'], 'Configured bound of a tier.'),

  blocksUploaded: def('objectfs_blocks_uploaded_total', 'counter', [], 'Block objects stored by writers (and compaction).'),
  blocksDownloaded: def('objectfs_blocks_downloaded_total', 'counter', [], 'Block objects fetched from the object store (cache misses of reads and prefetches).'),
  blockPartsDownloaded: def('objectfs_block_parts_downloaded_total', 'counter', [], 'Parts of raw blocks fetched alone by random reads (ranged GETs), not whole blocks.'),
  writeBufferBytes: def('objectfs_write_buffer_bytes', 'gauge', [], 'Write buffer in use: blocks being filled or uploaded.'),
  writeBufferLimitBytes: def('objectfs_write_buffer_limit_bytes', 'gauge', [], 'Write buffer bound (--buffer-size).'),
  uploadQueueBlocks: def('objectfs_upload_queue_blocks', 'gauge', [], 'Blocks handed to the uploader and not yet stored (waiting or in flight).'),
  uploadOldestSeconds: def('objectfs_upload_oldest_pending_seconds', 'gauge', [], 'Age of the oldest block not yet stored; 0 when the queue is empty. Data younger than this may not be in the object store yet.'),

  compactions: def('objectfs_compactions_total', 'counter', ['outcome'], 'Chunk compactions by outcome (compacted, not-needed, raced, failed).'),
  deletionReleasedLists: def('objectfs_deletion_released_lists_total', 'counter', [], 'Dropped chunk lists turned into slice releases by the deletion job.'),
  deletionSlices: def('objectfs_deletion_slices_total', 'counter', [], 'Released slices whose objects the deletion job deleted.'),
  deletionBytes: def('objectfs_deletion_bytes_total', 'counter', [], 'Bytes (uncompressed slice sizes) whose objects the deletion job deleted.'),
  deletionErrors: def('objectfs_deletion_errors_total', 'counter', [], 'Deletion passes that failed (they are retried at the next pass).'),

  lockGrants: def('objectfs_lock_grants_total', 'counter', ['kind'], 'File locks granted to processes here, by kind (posix: fcntl and OFD; flock), after a wait or not.'),
  lockConflicts: def('objectfs_lock_conflicts_total', 'counter', ['kind'], 'Lock requests that found another owner\'s lock in the way (each try of a waiting request counts).'),
  lockWaits: def('objectfs_lock_waits_total', 'counter', ['kind'], 'Blocking lock requests (F_SETLKW, flock without LOCK_NB) that had to wait.'),
  lockWaitSeconds: def('objectfs_lock_wait_duration_seconds', 'histogram', ['kind'], 'Time a blocking lock request waited, until granted, interrupted or refused.'),

  changeNotices: def('objectfs_change_notices_total', 'counter', ['event'], 'The change feed between mounts: notices sent (event=sent), sends that failed or did not finish within 10 s (send_failed: other mounts then wait for their cache timeouts), notices received from other mounts (received), and re-subscriptions after a lost listening connection (reset).'),

  configReloads: def('objectfs_config_reloads_total', 'counter', ['result'], 'Configuration reloads (SIGHUP or a change of the file) by result (ok, error).'),
});

export type MetricKey = keyof typeof METRIC_DEFS;

/** docs/metrics.md's table of metrics. */
export function metricsMarkdownTable(): string {
  const rows = Object.values(METRIC_DEFS).map((d) =>
    `| \`${d.name}\` | ${d.type} | ${d.labels.length === 0 ? '' : d.labels.map((l) => `\`${l}\``).join(', ')} | ${d.help} |`);
  return ['| name | type | labels | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
