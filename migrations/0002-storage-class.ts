/**
 * The volume's storage class for new objects (`objectfs config --storage-class`): an S3 class
 * name, or NULL for the bucket's default. A mount's --storage-class overrides it.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE volume ADD COLUMN storage_class text`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE volume DROP COLUMN storage_class`.execute(db);
}
