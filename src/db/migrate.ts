/** Schema migrations (Kysely Migrator over migrations/), the same for PostgreSQL and PGlite. */
import { Migrator, type Kysely, type MigrationResult } from 'kysely';
import { MIGRATIONS } from '../../migrations/index.js';
import type { Database } from './schema.js';

/** The schema version this build writes and understands: the number of migrations. */
export const SCHEMA_VERSION = Object.keys(MIGRATIONS).length;

function migrator(db: Kysely<Database>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
    // Migrator takes a lock table of its own, so concurrent `format` runs serialise.
  });
}

/** Applies all pending migrations; throws the first failure with the results so far. */
export async function migrateToLatest(db: Kysely<Database>): Promise<readonly MigrationResult[]> {
  const { error, results } = await migrator(db).migrateToLatest();
  if (error !== undefined) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}

/** Names of migrations applied to this database (empty for an unformatted one). */
export async function appliedMigrations(db: Kysely<Database>): Promise<string[]> {
  const all = await migrator(db).getMigrations();
  return all.filter((m) => m.executedAt !== undefined).map((m) => m.name);
}

/** Applies the migrations up to and including `name` (load creates a dump's schema this way). */
export async function migrateTo(db: Kysely<Database>, name: string): Promise<readonly MigrationResult[]> {
  const { error, results } = await migrator(db).migrateTo(name);
  if (error !== undefined) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}
