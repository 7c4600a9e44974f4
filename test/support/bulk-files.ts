/**
 * Fills a directory with many empty files straight in the database, in one transaction, the way
 * the engine would have created them (fresh inode range from the counter, node + edge rows,
 * usage journalled by the trigger on node). For tests of what happens to a huge directory (listing it through a
 * mount, fsck/gc scans), where creating 100,000 files one by one through FUSE would take minutes
 * and test nothing new.
 */
import pg from 'pg';

/** Creates `names(i)` for i in [0, n) under directory inode `dir`; returns the first inode. */
export async function bulkCreateFiles(metaUrl: string, dir: number, n: number, names: (i: number) => string): Promise<number> {
  const client = new pg.Client({ connectionString: metaUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ value: string }>(
      `UPDATE counter SET value = value + $1 WHERE name = 'next_inode' RETURNING value`, [n]);
    const first = Number(rows[0]?.value) - n + 1;
    const nowNs = (BigInt(Date.now()) * 1_000_000n).toString();
    const nameList = Array.from({ length: n }, (_, i) => names(i));
    await client.query(
      `INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, parent)
       SELECT $1::int8 + i, 1, 420, 0, 0, $3::int8, $3::int8, $3::int8, 1, 0, $2::int8 FROM generate_series(0, $4::int - 1) AS i`,
      [first, dir, nowNs, n]);
    await client.query(
      `INSERT INTO edge (parent, name, inode, type)
       SELECT $1::int8, convert_to(t.name, 'UTF8'), $2::int8 + t.ord - 1, 1 FROM unnest($3::text[]) WITH ORDINALITY AS t(name, ord)`,
      [dir, first, nameList]);
    await client.query(`UPDATE node SET mtime = $2::int8, ctime = $2::int8 WHERE inode = $1`, [dir, nowNs]);
    await client.query('COMMIT');
    return first;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}
