/**
 * `objectfs destroy` marks the volume before it deletes anything: `volume.destroying` holds
 * the time (ms since the epoch) the destroy began, NULL otherwise. A marked volume cannot be
 * opened (mount, fsck, gc, status, config, format all refuse it) and no session can register
 * on it, so a destroy that was interrupted can only be finished, by running it again.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE volume ADD COLUMN destroying int8`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE volume DROP COLUMN destroying`.execute(db);
}
