/**
 * What `objectfs dump` does with each table of the schema. The record below must name every
 * table of `Database` (schema.ts): a table added there and not classified here fails to
 * compile, so a new table is never silently left out of dumps (nor dumped by accident).
 *
 *  - `rows`: every row is dumped and loaded as it is, whatever its columns (read from the
 *    catalog), so a table added later needs one line here and no other code;
 *  - `folded`: a journal whose sum is folded into other rows at dump time (quota_delta into
 *    `dir_quota`'s usage, usage_delta into the
 *    `used_space` / `used_inodes` counters), so it is not dumped, and at load the rows the
 *    journal's trigger wrote while the nodes were inserted are removed again;
 *  - `runtime`: state of live mounts, meaningless in another database, never dumped.
 */
import type { Database } from './schema.js';

export type DumpRole = 'rows' | 'folded' | 'runtime';

export const DUMP_ROLES = {
  volume: 'rows', // settings; the storage URL holds no credentials (they come from the environment)
  counter: 'rows', // with usage_delta folded in (dump-writer.ts)
  node: 'rows',
  edge: 'rows',
  symlink: 'rows',
  xattr: 'rows',
  chunk: 'rows',
  slice_ref: 'rows',
  // Deletions in progress are dumped: the loaded volume finishes them (its objects are the same).
  dropped_chunk: 'rows',
  pending_slice: 'rows',
  delfile: 'rows',
  usage_delta: 'folded',
  // Directory quotas with their usage (migration 0008), their journal folded into it (dump-writer.ts).
  dir_quota: 'rows',
  quota_delta: 'folded',
  // Sessions are processes on hosts of the source volume (and their info is host details):
  // nobody is mounted on a freshly loaded database.
  session: 'runtime',
  // Inodes kept open after their last unlink by a session. Without their session they would
  // be deleted at its cleanup; the node itself (link count 0) is dumped, and after a load
  // fsck reports it as an orphan (`--repair` moves it to /lost+found). See docs/dump-format.md.
  sustained: 'runtime',
  // Locks belong to processes of live mounts; a loaded volume has none.
  file_lock: 'runtime',
  // Who claimed a background job when: sessions of the source. The next mount claims afresh.
  job: 'runtime',
  // Slices whose blocks are on a mount's disk only (write-back): dumped, so that fsck of the
  // loaded volume names them if that mount never uploads them.
  staged_slice: 'rows',
} as const satisfies Record<keyof Database, DumpRole>;

// The other direction: a key above that is not a table of Database fails here.
type Unknown = Exclude<keyof typeof DUMP_ROLES, keyof Database>;
const noStrayTable: [Unknown] extends [never] ? true : Unknown = true;
void noStrayTable;

/** The tables whose rows a dump holds, in load order (the volume row last: see load.ts). */
export const DUMPED_TABLES: readonly (keyof Database)[] = Object.freeze(
  (Object.keys(DUMP_ROLES) as (keyof Database)[]).filter((t) => DUMP_ROLES[t] === 'rows' && t !== 'volume').concat('volume'),
);

/** Journals folded at dump time, emptied after a load. */
export const FOLDED_TABLES: readonly (keyof Database)[] = Object.freeze(
  (Object.keys(DUMP_ROLES) as (keyof Database)[]).filter((t) => DUMP_ROLES[t] === 'folded'),
);
