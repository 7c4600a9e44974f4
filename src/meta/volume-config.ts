/**
 * `objectfs config META_URL`: changes the mutable settings of a volume record in one
 * transaction (trash days, quotas, storage class of new objects). Block size, compression
 * and storage are fixed at format, and so is the name: it is the key prefix of every object. Running mounts read
 * the record at mount time: a changed storage class applies to mounts started afterwards.
 */
import { openDatabase } from '../db/index.js';
import { checkSchema } from './open-meta.js';
import { destroyingError, toVolume } from './volume-row.js';
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
      const before = toVolume(await tx.selectFrom('volume').selectAll().where('id', '=', 1).forUpdate().executeTakeFirstOrThrow());
      if (before.destroyingSince !== undefined) throw destroyingError(before);
      const set = {
        ...(changes.trashDays === undefined ? {} : { trash_days: changes.trashDays }),
        ...(changes.capacity === undefined ? {} : { capacity: changes.capacity }),
        ...(changes.inodes === undefined ? {} : { inodes: changes.inodes }),
        ...(changes.storageClass === undefined ? {} : { storage_class: changes.storageClass === '' ? null : changes.storageClass }),
      };
      if (Object.keys(set).length === 0) return { before, after: before }; // UPDATE … SET needs a column
      const after = await tx.updateTable('volume').set(set).where('id', '=', 1).returningAll().executeTakeFirstOrThrow();
      return { before, after: toVolume(after) };
    });
  } finally {
    await database.close();
  }
}
