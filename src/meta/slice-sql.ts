/**
 * Slice lists decoded inside PostgreSQL, so volume-wide questions about slices (reference
 * counts, which slices are live, which inodes use a slice) are answered by the database, which
 * spills big sorts and hashes to disk, instead of by loading every list into this process.
 * The byte layout is the one of slice-list.ts (24-byte big-endian entries; id at byte 4, size
 * at byte 12); a unit test checks this decoding against decodeSliceEntries.
 */
import { sql, type RawBuilder } from 'kysely';
import { SLICE_ENTRY_SIZE } from './slice-list.js';

/**
 * A LATERAL join producing one row (id int8, size int) per entry of `alias.slices`, holes
 * included (id 0). A list whose length is not a multiple of 24 yields its whole entries only
 * (fsck reports such a list separately).
 */
export function decodedEntries(alias: 'c' | 'd'): RawBuilder<unknown> {
  const t = sql.raw(alias);
  const n = SLICE_ENTRY_SIZE;
  return sql`CROSS JOIN LATERAL (
    SELECT ('x' || encode(substring(${t}.slices FROM g * ${sql.raw(String(n))} + 5 FOR 8), 'hex'))::bit(64)::int8 AS id,
           ('x' || encode(substring(${t}.slices FROM g * ${sql.raw(String(n))} + 13 FOR 4), 'hex'))::bit(32)::int AS size
    FROM generate_series(0, length(${t}.slices) / ${sql.raw(String(n))} - 1) AS g
  ) e`;
}

/** Every non-hole entry of every chunk list and every dropped list (those still hold references). */
export function referencingEntries(): RawBuilder<unknown> {
  return sql`(SELECT e.id, e.size FROM chunk c ${decodedEntries('c')} WHERE e.id <> 0
              UNION ALL
              SELECT e.id, e.size FROM dropped_chunk d ${decodedEntries('d')} WHERE e.id <> 0)`;
}
