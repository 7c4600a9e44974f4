/**
 * The volume record as stored (`volume`, one row, id 1) and as the engine sees it, and the one
 * refusal of a volume `objectfs destroy` has begun on. Imported by every file that reads the
 * row, so it imports nothing of the engine.
 */
import type { Selectable } from 'kysely';
import type { VolumeTable } from '../db/index.js';
import { VolumeDestroyingError } from './errors.js';
import type { VolumeRecord } from './types.js';

/** The volume record as stored (one row, id 1). */
export type VolumeRow = Selectable<VolumeTable>;

export function toVolume(r: VolumeRow): VolumeRecord {
  return Object.freeze({
    uuid: r.uuid,
    name: r.name,
    blockSize: r.block_size,
    compression: r.compression === 'none' ? 'none' : 'lz4',
    storage: r.storage,
    trashDays: r.trash_days,
    formatVersion: r.format_version,
    createdAt: r.created_at,
    capacity: Number(r.capacity),
    inodes: Number(r.inodes),
    ...(r.storage_class == null ? {} : { storageClass: r.storage_class }),
    ...(r.destroying == null ? {} : { destroyingSince: Number(r.destroying) }),
  });
}

/** The refusal of a volume `objectfs destroy` has begun on (the same words wherever it is met). */
export function destroyingError(volume: VolumeRecord): VolumeDestroyingError {
  const since = volume.destroyingSince === undefined ? '' : ` (since ${new Date(volume.destroyingSince).toISOString()})`;
  return new VolumeDestroyingError(`volume "${volume.name}" (${volume.uuid}) is being destroyed${since}: it cannot be used; run "objectfs destroy META_URL ${volume.uuid}" again to finish`);
}
