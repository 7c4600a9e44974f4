/**
 * Repeated statements run as named prepared statements on both engines (decision 86): the
 * server lists them in pg_prepared_statements of the connection that ran them, and their
 * results stay right when the parameters change.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase } from '../../../src/db/index.js';
import { requirePgUrl } from '../../support/pg.js';

for (const [engine, url] of [['postgres', () => requirePgUrl()], ['pglite', () => 'pglite://memory']] as const) {
  test(`${engine}: a repeated parameterized statement is prepared once per connection and answers each call`, async () => {
    const { db, close } = await openDatabase(url(), { maxConnections: 1 });
    try {
      await db.connection().execute(async (conn) => {
        const square = (n: number) => sql<{ v: number }>`SELECT ${n}::int * ${n}::int AS v`.execute(conn);
        for (let n = 1; n <= 5; n++) assert.equal((await square(n)).rows[0]?.v, n * n);
        const prepared = await sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(conn);
        const ours = prepared.rows.filter((r) => r.statement.includes('::int * '));
        assert.equal(ours.length, 1, `prepared: ${JSON.stringify(prepared.rows)}`);
        // A text without parameters may hold several statements: it is never prepared.
        await sql`SELECT 1; SELECT 2`.execute(conn);
        await sql`SELECT 1; SELECT 2`.execute(conn);
      });
    } finally {
      await close();
    }
  });
}
