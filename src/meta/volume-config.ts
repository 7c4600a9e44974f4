/**
 * `objectfs config META_URL`: changes the mutable settings of a volume record in one
 * transaction (trash days, quotas, storage class of new objects). Block size, compression
 * and storage are fixed at format, and so is the name: it is the key prefix of every object. Running mounts read
 * the record at mount time: a changed storage class applies to mounts started afterwards.
 */
import { sql } from 'kysely';
import { openDatabase } from '../db/index.js';
import { checkSchema, toVolume, type VolumeRow } from './open-meta.js';
import type { VolumeRecord } from './types.js';

export interface VolumeChanges {
  readonly trashDays?: number;
  readonly capacity?: number;
  readonly inodes?: number;
  /** A class name, or null (or '') to go back to the bucket's default. */
  readonly storageClass?: string | null;
}

export async function configureVolume(metaUrl: string, changes: VolumeChanges): Promise<{ before: VolumeRecord; after: VolumeRecord }> {
  const database = await openDatabase(metaUrl, { maxConnections: 1 });
  try {
    await checkSchema(database);
    return await database.db.transaction().execute(async (tx) => {
      const { rows: old } = await sql<VolumeRow>`SELECT * FROM volume WHERE id = 1 FOR UPDATE`.execute(tx);
      const before = toVolume(old[0] as VolumeRow);
      const { rows } = await sql<VolumeRow>`
        UPDATE volume SET
          trash_days = coalesce(${changes.trashDays ?? null}::int, trash_days),
          capacity = coalesce(${changes.capacity ?? null}::int8, capacity),
          inodes = coalesce(${changes.inodes ?? null}::int8, inodes),
          storage_class = ${changes.storageClass === undefined ? sql`storage_class` : sql`${changes.storageClass === '' ? null : changes.storageClass}::text`}
        WHERE id = 1 RETURNING *`.execute(tx);
      return { before, after: toVolume(rows[0] as VolumeRow) };
    });
  } finally {
    await database.close();
  }
}
