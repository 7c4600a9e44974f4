/**
 * The trash (decision 78): `delfile`, reserved for it since 0001, keeps the whole original
 * name of a trash entry whose entry name (`<parent>-<ino>-<name>`) had to be cut to 255 bytes,
 * so restore can give it back. The trash directory itself needs no migration: it is created
 * with the first deletion that goes to it.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE delfile ADD COLUMN name bytea`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE delfile DROP COLUMN name`.execute(db);
}
