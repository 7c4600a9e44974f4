/**
 * A large, consistent volume built in bulk (for the fsck/gc scale test and bench/): directories
 * and files inserted with a few set-based SQL statements, every `dataEvery`-th file holding one
 * small slice shared round-robin among `slices` real block objects (lz4-encoded and stored), so
 * fsck walks every inode, edge and chunk row and gc lists and classifies every object, without
 * spending minutes writing through the engine. Everything it writes is what the engine would
 * have written: fsck finds nothing to report.
 */
import pg from 'pg';
import { blockKey } from '../../src/chunk/keys.js';
import { encodeBlock } from '../../src/chunk/codec.js';
import type { ObjectStore } from '../../src/object/index.js';
import { crashData } from './crash-data.js';

export interface BulkSpec {
  readonly files: number;
  readonly dirs: number;
  /** Distinct slices (one block object each). */
  readonly slices: number;
  /** Bytes of each slice (at most the block size). */
  readonly sliceBytes: number;
  /** Every n-th file holds data; the others are empty. */
  readonly dataEvery: number;
}

/** First inode number of the bulk directories (clear of anything the engine hands out first). */
const INODE_BASE = 1_000_000;
/** First slice id of the bulk slices. */
const SLICE_BASE = 1_000_000;

/** Fills a freshly formatted PostgreSQL volume; returns how many inodes the volume then has. */
export async function fillBulkVolume(metaUrl: string, objects: ObjectStore, spec: BulkSpec, compression: 'lz4' | 'none' = 'lz4'): Promise<{ inodes: number }> {
  const { files, dirs, slices, sliceBytes, dataEvery } = spec;
  const ids = Array.from({ length: slices }, (_, k) => k);
  for (let i = 0; i < ids.length; i += 32) {
    await Promise.all(ids.slice(i, i + 32).map(async (k) => {
      await objects.put(blockKey(SLICE_BASE + k, 0, sliceBytes), await encodeBlock(crashData(k + 1, sliceBytes), compression));
    }));
  }
  const fileBase = INODE_BASE + dirs + 1;
  const now = BigInt(Date.now()) * 1_000_000n;
  const dataFiles = `SELECT g, ${SLICE_BASE} + (g / ${dataEvery}) % ${slices} AS id FROM generate_series(0, ${files - 1}) g WHERE g % ${dataEvery} = 0`;
  const client = new pg.Client({ connectionString: metaUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    for (const statement of [
      `INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent)
       SELECT ${INODE_BASE} + g, 2, 493, 0, 0, ${now}, ${now}, ${now}, 2, 0, 0, 1 FROM generate_series(1, ${dirs}) g`,
      `INSERT INTO edge (parent, name, inode, type) SELECT 1, convert_to('bulk' || g, 'UTF8'), ${INODE_BASE} + g, 2 FROM generate_series(1, ${dirs}) g`,
      `UPDATE node SET nlink = nlink + ${dirs} WHERE inode = 1`,
      `INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent)
       SELECT ${fileBase} + g, 1, 420, 0, 0, ${now}, ${now}, ${now}, 1, CASE WHEN g % ${dataEvery} = 0 THEN ${sliceBytes} ELSE 0 END, 0,
              ${INODE_BASE} + 1 + g % ${dirs} FROM generate_series(0, ${files - 1}) g`,
      `INSERT INTO edge (parent, name, inode, type) SELECT ${INODE_BASE} + 1 + g % ${dirs}, convert_to('f' || g, 'UTF8'), ${fileBase} + g, 1
       FROM generate_series(0, ${files - 1}) g`,
      // One 24-byte entry (pos 0, id, size, off 0, len size); int4send/int8send are big-endian, as the format.
      `INSERT INTO chunk (inode, idx, slices, version)
       SELECT ${fileBase} + g, 0, int4send(0) || int8send(id) || int4send(${sliceBytes}) || int4send(0) || int4send(${sliceBytes}), 1 FROM (${dataFiles}) f`,
      `INSERT INTO slice_ref (id, size, refs) SELECT id, ${sliceBytes}, count(*) FROM (${dataFiles}) f GROUP BY id`,
      `UPDATE counter SET value = greatest(value, ${fileBase + files}) WHERE name = 'next_inode'`,
      `UPDATE counter SET value = greatest(value, ${SLICE_BASE + slices}) WHERE name = 'next_slice'`,
      // Usage needs no update here: the trigger on node journals every inserted row (migration 0003).
    ]) await client.query(statement);
    await client.query('COMMIT');
    await client.query('ANALYZE');
    const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM node');
    return { inodes: Number(rows[0]?.n) };
  } finally {
    await client.end();
  }
}
