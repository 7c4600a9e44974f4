/**
 * The slice lists decoded inside the database (src/meta/slice-sql.ts) agree with the
 * TypeScript decoder (decodeSliceEntries) on PostgreSQL and PGlite: ids up to 2^53 - 1, holes,
 * sizes up to a chunk, and a list with a trailing partial entry (whole entries only).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase } from '../../../src/db/index.js';
import { decodedEntries } from '../../../src/meta/slice-sql.js';
import { CHUNK_SIZE, decodeSliceEntries, encodeSliceEntries, type SliceEntry } from '../../../src/meta/slice-list.js';
import { freshPgDatabase, freshPgliteUrl } from '../../support/pg.js';

const ENTRIES: SliceEntry[] = [
  { pos: 0, id: 1, size: 10, off: 0, len: 10 },
  { pos: 5, id: 0, size: 0, off: 0, len: 3 },
  { pos: 100, id: Number.MAX_SAFE_INTEGER, size: CHUNK_SIZE, off: 7, len: 1000 },
  { pos: 0, id: 2 ** 32 + 5, size: 12_345, off: 0, len: 1 },
];

async function decodeInDb(metaUrl: string): Promise<{ id: number; size: number }[]> {
  const database = await openDatabase(metaUrl, { create: true });
  try {
    const list = Buffer.concat([encodeSliceEntries(ENTRIES), Buffer.alloc(10, 0xff)]);
    const { rows } = await sql<{ id: bigint; size: number }>`
      SELECT e.id, e.size FROM (SELECT ${list}::bytea AS slices) c ${decodedEntries('c')}`.execute(database.db);
    return rows.map((r) => ({ id: Number(r.id), size: r.size }));
  } finally {
    await database.close();
  }
}

describe('slice lists decoded in SQL', () => {
  const expected = decodeSliceEntries(encodeSliceEntries(ENTRIES)).map((e) => ({ id: e.id, size: e.size }));
  test('PostgreSQL', async () => {
    const db = await freshPgDatabase('slice-sql');
    try {
      assert.deepEqual(await decodeInDb(db.url), expected);
    } finally {
      await db.drop();
    }
  });
  test('PGlite', async () => {
    const lite = await freshPgliteUrl('slice-sql');
    try {
      assert.deepEqual(await decodeInDb(lite.url), expected);
    } finally {
      await lite.cleanup();
    }
  });
});
