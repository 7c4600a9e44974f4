/**
 * Dropping every database object ObjectFS created (`objectfs destroy`): the tables of
 * schema.ts, the migrator's two tables and the `objectfs_*` functions. Triggers, indexes and
 * the sequence of `dropped_chunk.seq` go with their tables. Nothing else in the database (or
 * in the schema the volume was formatted into, the first of the search path) is touched.
 *
 * The caller runs this inside one transaction: it all goes, or nothing does.
 */
import { DEFAULT_MIGRATION_LOCK_TABLE, DEFAULT_MIGRATION_TABLE, sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Every table of the schema, dependents first (file_lock references session). */
const VOLUME_TABLES = [
  'staged_slice', 'quota_delta', 'dir_quota', 'job', 'file_lock', 'sustained', 'session', 'usage_delta', 'delfile', 'pending_slice', 'dropped_chunk', 'slice_ref',
  'chunk', 'xattr', 'symlink', 'edge', 'node', 'counter', 'volume',
] as const satisfies readonly (keyof Database)[];

// A table added to Database but not to the list above fails to compile here, so destroy can
// never leave one behind.
type Unlisted = Exclude<keyof Database, (typeof VOLUME_TABLES)[number]>;
const everyTableListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyTableListed;

/** Every table destroy drops: the volume's, then the migrator's (their absence means "not formatted"). */
export const OBJECTFS_TABLES: readonly string[] = Object.freeze([...VOLUME_TABLES, DEFAULT_MIGRATION_TABLE, DEFAULT_MIGRATION_LOCK_TABLE]);

/** What dropSchema removed. */
export interface DroppedSchema {
  /** Tables that existed and were dropped. */
  readonly tables: readonly string[];
  /** Rows those tables held. */
  readonly rows: number;
  /** `objectfs_*` functions dropped. */
  readonly functions: readonly string[];
}

/**
 * Drops the ObjectFS tables and functions reachable through the search path, counting the rows
 * first. Run it in a transaction (`db` is the transaction); absent objects are skipped, so a
 * partly formatted database is cleaned too.
 */
export async function dropSchema(db: Kysely<Database>): Promise<DroppedSchema> {
  const { rows: present } = await sql<{ name: string }>`
    SELECT t AS name FROM unnest(${[...OBJECTFS_TABLES]}::text[]) WITH ORDINALITY AS u(t, i)
    WHERE to_regclass(quote_ident(t)) IS NOT NULL ORDER BY i`.execute(db);
  const tables = present.map((r) => r.name);
  let rows = 0;
  for (const t of tables) {
    const { rows: n } = await sql<{ n: bigint }>`SELECT count(*) AS n FROM ${sql.table(t)}`.execute(db);
    rows += Number(n[0]?.n ?? 0);
  }
  for (const t of tables) await sql`DROP TABLE ${sql.table(t)} CASCADE`.execute(db);
  // Functions by name, so one a later migration adds goes too; only in the schema the tables were in.
  const { rows: fns } = await sql<{ signature: string; name: string }>`
    SELECT p.oid::regprocedure::text AS signature, p.proname AS name FROM pg_proc p
    WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) AND left(p.proname, 9) = 'objectfs_'
    ORDER BY p.proname`.execute(db);
  for (const f of fns) await sql.raw(`DROP FUNCTION ${f.signature} CASCADE`).execute(db);
  return { tables, rows, functions: fns.map((f) => f.name) };
}
