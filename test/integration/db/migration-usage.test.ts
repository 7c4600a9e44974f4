/**
 * Migration 0003 (the usage journal) on a volume formatted before it, on the real PostgreSQL:
 * counters left wrong by the old in-memory scheme (a crash) are recomputed once by the
 * migration, and from then on every change of a node is journalled by the trigger.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Migrator, sql } from 'kysely';
import { MIGRATIONS } from '../../../migrations/index.js';
import { migrateToLatest, openDatabase } from '../../../src/db/index.js';
import { freshPgDatabase } from '../../support/pg.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

async function counters(db: Parameters<typeof migrateToLatest>[0]): Promise<Record<string, number>> {
  const { rows } = await sql<{ name: string; value: bigint }>`SELECT name, value FROM counter WHERE name IN ('used_space', 'used_inodes')`.execute(db);
  return Object.fromEntries(rows.map((r) => [r.name, Number(r.value)]));
}

describe('migration 0003: usage journal', () => {
  test('recomputes drifted counters once, then journals every change', async () => {
    const fresh = await freshPgDatabase('migrate_usage');
    cleanups.push(() => fresh.drop());
    const database = await openDatabase(fresh.url);
    cleanups.push(() => database.close());
    const db = database.db;
    const { error } = await new Migrator({ db, provider: { getMigrations: async () => ({ ...MIGRATIONS }) } }).migrateTo('0002-storage-class');
    assert.equal(error, undefined);
    // A schema-2 volume: three nodes (8 KiB + 1 byte of file data), counters a crash left behind.
    await sql`
      INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent)
      VALUES (1, 2, 493, 0, 0, 0, 0, 0, 2, 0, 0, 1), (2, 1, 420, 0, 0, 0, 0, 0, 1, 8193, 0, 1), (3, 1, 420, 0, 0, 0, 0, 0, 1, 0, 0, 1)`.execute(db);
    await sql`UPDATE counter SET value = CASE name WHEN 'used_space' THEN 4096 ELSE 1 END WHERE name IN ('used_space', 'used_inodes')`.execute(db);

    await migrateToLatest(db);
    assert.deepEqual(await counters(db), { used_space: 12288, used_inodes: 3 }, 'recomputed from the nodes');
    const journal = async () => Number((await sql<{ n: bigint }>`SELECT count(*) AS n FROM usage_delta`.execute(db)).rows[0]?.n);
    assert.equal(await journal(), 0, 'nothing journalled by the migration itself');

    await sql`UPDATE node SET length = 100 WHERE inode = 3`.execute(db);
    await sql`UPDATE node SET mtime = 5 WHERE inode = 3`.execute(db);
    await sql`UPDATE node SET length = 101 WHERE inode = 3`.execute(db);
    await sql`DELETE FROM node WHERE inode = 2`.execute(db);
    const { rows } = await sql<{ space: bigint; inodes: bigint }>`SELECT coalesce(sum(space), 0) AS space, coalesce(sum(inodes), 0) AS inodes FROM usage_delta`.execute(db);
    assert.deepEqual({ space: Number(rows[0]?.space), inodes: Number(rows[0]?.inodes) }, { space: 4096 - 12288, inodes: -1 });
    assert.equal(await journal(), 2, 'a change within the same 4 KiB, or of another column, journals nothing');
  });
});
