/**
 * Formatting and opening a volume's metadata. `formatMeta` runs the migrations, then writes the
 * volume record and the root inode in one transaction; `openMeta` refuses a database that
 * holds no volume, with a message that says to run `objectfs format`.
 */
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { appliedMigrations, isUndefinedTable, migrateToLatest, openDatabase, SCHEMA_VERSION, type Database, type OpenDatabase } from '../db/index.js';
import { nowNs } from './context.js';
import { ImmutableSettingError, NotFormattedError, SchemaTooNewError, VolumeExistsError } from './errors.js';
import { MetaStore } from './meta-store.js';
import { NODE_TYPE_CODE, ROOT_INO, type VolumeRecord } from './types.js';
import type { FormatSettings, MetaEngine, MetaOptions } from './engine.js';

export interface VolumeRow {
  uuid: string; name: string; block_size: number; compression: string; storage: string;
  trash_days: number; format_version: number; capacity: bigint; inodes: bigint; created_at: bigint;
  storage_class?: string | null;
}

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
  });
}

/** The volume record of an open database, or NotFormattedError. */
export async function readVolume(db: Kysely<Database>, displayUrl = 'the database'): Promise<VolumeRecord> {
  let rows: VolumeRow[];
  try {
    rows = (await sql<VolumeRow>`SELECT * FROM volume WHERE id = 1`.execute(db)).rows;
  } catch (err) {
    if (isUndefinedTable(err)) throw new NotFormattedError(`${displayUrl} holds no ObjectFS volume: run "objectfs format" first`);
    throw err;
  }
  const row = rows[0];
  if (row === undefined) throw new NotFormattedError(`${displayUrl} holds no ObjectFS volume: run "objectfs format" first`);
  return toVolume(row);
}

/** Refuses an unformatted or too new database; migrates an older one. */
export async function checkSchema(database: OpenDatabase): Promise<void> {
  const applied = await appliedMigrations(database.db);
  if (applied.length === 0) throw new NotFormattedError(`${database.displayUrl} holds no ObjectFS volume: run "objectfs format" first`);
  if (applied.length > SCHEMA_VERSION) {
    throw new SchemaTooNewError(`${database.displayUrl} was formatted by a newer ObjectFS (schema ${applied.length}, this build knows ${SCHEMA_VERSION}): upgrade objectfs`);
  }
  if (applied.length < SCHEMA_VERSION) await migrateToLatest(database.db);
}

/** Opens the metadata engine of an existing volume. */
export async function openMeta(metaUrl: string, options: MetaOptions = {}): Promise<MetaEngine> {
  const database = await openDatabase(metaUrl, { maxConnections: options.maxConnections });
  try {
    await checkSchema(database);
    const volume = await readVolume(database.db, database.displayUrl);
    return new MetaStore(database, volume, options);
  } catch (err) {
    await database.close();
    throw err;
  }
}

export interface FormatResult {
  /** True for a new volume, false when an existing one was updated (--force). */
  readonly created: boolean;
  readonly volume: VolumeRecord;
}

/**
 * Creates the volume (schema, volume record, root directory), or with `force` updates the
 * mutable settings of an existing one. Block size and compression can never change.
 */
export async function formatMeta(metaUrl: string, settings: FormatSettings, options: { force?: boolean; rootUid?: number; rootGid?: number } = {}): Promise<FormatResult> {
  const database = await openDatabase(metaUrl, { create: true });
  try {
    await migrateToLatest(database.db);
    return await database.db.transaction().execute(async (tx) => {
      const { rows } = await sql<VolumeRow>`SELECT * FROM volume WHERE id = 1 FOR UPDATE`.execute(tx);
      const existing = rows[0];
      if (existing !== undefined) {
        const current = toVolume(existing);
        if (!options.force) {
          throw new VolumeExistsError(`${database.displayUrl} already holds volume "${current.name}" (${current.uuid}); use --force to change its mutable settings`);
        }
        if (current.blockSize !== settings.blockSize) throw new ImmutableSettingError(`block size is fixed at format (${current.blockSize} bytes) and cannot change to ${settings.blockSize}`);
        if (current.compression !== settings.compression) throw new ImmutableSettingError(`compression is fixed at format (${current.compression}) and cannot change to ${settings.compression}`);
        if (current.storage !== settings.storage) throw new ImmutableSettingError(`storage is fixed at format (${current.storage}); its data lives there`);
        const { rows: updated } = await sql<VolumeRow>`
          UPDATE volume SET name = ${settings.name}, trash_days = ${settings.trashDays},
            capacity = ${settings.capacity ?? Number(existing.capacity)}, inodes = ${settings.inodes ?? Number(existing.inodes)}
          WHERE id = 1 RETURNING *`.execute(tx);
        return { created: false, volume: toVolume(updated[0] as VolumeRow) };
      }
      const now = nowNs();
      const { rows: inserted } = await sql<VolumeRow>`
        INSERT INTO volume (id, uuid, name, block_size, compression, storage, trash_days, format_version, capacity, inodes, created_at)
        VALUES (1, ${randomUUID()}, ${settings.name}, ${settings.blockSize}, ${settings.compression}, ${settings.storage},
                ${settings.trashDays}, ${SCHEMA_VERSION}, ${settings.capacity ?? 0}, ${settings.inodes ?? 0}, ${now})
        RETURNING *`.execute(tx);
      const uid = options.rootUid ?? process.getuid?.() ?? 0;
      const gid = options.rootGid ?? process.getgid?.() ?? 0;
      await sql`
        INSERT INTO node (inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent)
        VALUES (${ROOT_INO}, ${NODE_TYPE_CODE.directory}, ${0o755}, ${uid}, ${gid}, ${now}, ${now}, ${now}, 2, 0, 0, ${ROOT_INO})`.execute(tx);
      return { created: true, volume: toVolume(inserted[0] as VolumeRow) };
    });
  } finally {
    await database.close();
  }
}
