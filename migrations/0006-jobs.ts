/**
 * Background jobs that one live mount of the volume runs at a time (trash expiry, metadata
 * backups): `job` has a row per job name with when a mount last claimed it, which session,
 * and what the last run reported (`info`, JSON; shown by `objectfs status`).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE job (name text PRIMARY KEY, sid int8, claimed_at int8 NOT NULL, info jsonb)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE job`.execute(db);
}
