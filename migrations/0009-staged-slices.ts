/**
 * Write-back (`--writeback`, decision 90): `staged_slice` has a row per committed slice whose
 * blocks a mount has staged on its local disk and not yet uploaded. The row is written in the
 * commit's own statement and removed once every block is in the object store; other hosts read
 * it to wait for the upload instead of failing, fsck and status to report the backlog.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE TABLE staged_slice (id int8 PRIMARY KEY, size int4 NOT NULL, sid int8 NOT NULL, inode int8 NOT NULL, staged_at int8 NOT NULL)`.execute(db);
  await sql`CREATE INDEX staged_slice_sid ON staged_slice (sid)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE staged_slice`.execute(db);
}
