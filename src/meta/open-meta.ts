/**
 * Formatting and opening a volume's metadata. `formatMeta` runs the migrations, then writes the
 * volume record and the root inode in one transaction; `openMeta` refuses a database that
 * holds no volume, with a message that says to run `objectfs format`.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { appliedMigrations, isUndefinedTable, migrateToLatest, openDatabase, SCHEMA_VERSION, type Database, type OpenDatabase } from '../db/index.js';
import { nowNs } from './context.js';
import { ImmutableSettingError, NotFormattedError, SchemaTooNewError, VolumeExistsError } from './errors.js';
import { destroyingError, toVolume, type VolumeRow } from './volume-row.js';
import { MetaStore } from './meta-store.js';
import { DEFAULT_META_RETRY_MS } from './tx.js';
import { NODE_TYPE_CODE, ROOT_INO, type VolumeRecord } from './types.js';
import type { FormatSettings, MetaEngine, MetaOptions } from './engine.js';

/** The volume record of an open database, or NotFormattedError. */
export async function readVolume(db: Kysely<Database>, displayUrl = 'the database'): Promise<VolumeRecord> {
  let row: VolumeRow | undefined;
  try {
    row = await db.selectFrom('volume').selectAll().where('id', '=', 1).executeTakeFirst();
  } catch (err) {
    if (isUndefinedTable(err)) throw new NotFormattedError(`${displayUrl} holds no ObjectFS volume: run "objectfs format" first`);
    throw err;
  }
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

/**
 * How long one attempt may wait for a connection (a pool slot or a new connection): a quarter
 * of the retry budget, 1–10 s. An operation then fails within about its budget even when the
 * wait that straddles the deadline is its last attempt, instead of up to 10 s after it.
 */
export function connectTimeoutWithin(retryTimeoutMs = DEFAULT_META_RETRY_MS): number {
  return Math.min(10_000, Math.max(1_000, Math.round(retryTimeoutMs / 4)));
}

/** Opens the metadata engine of an existing volume; one being destroyed is refused. */
export async function openMeta(metaUrl: string, options: MetaOptions = {}): Promise<MetaEngine> {
  const database = await openDatabase(metaUrl, { maxConnections: options.maxConnections, connectTimeoutMs: connectTimeoutWithin(options.retryTimeoutMs) });
  try {
    await checkSchema(database);
    const volume = await readVolume(database.db, database.displayUrl);
    if (volume.destroyingSince !== undefined) throw destroyingError(volume);
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
      const existing = await tx.selectFrom('volume').selectAll().where('id', '=', 1).forUpdate().executeTakeFirst();
      if (existing !== undefined) {
        const current = toVolume(existing);
        if (current.destroyingSince !== undefined) throw destroyingError(current);
        if (!options.force) {
          throw new VolumeExistsError(`${database.displayUrl} already holds volume "${current.name}" (${current.uuid}); use --force to change its mutable settings`);
        }
        if (current.blockSize !== settings.blockSize) throw new ImmutableSettingError(`block size is fixed at format (${current.blockSize} bytes) and cannot change to ${settings.blockSize}`);
        if (current.compression !== settings.compression) throw new ImmutableSettingError(`compression is fixed at format (${current.compression}) and cannot change to ${settings.compression}`);
        if (current.storage !== settings.storage) throw new ImmutableSettingError(`storage is fixed at format (${current.storage}); its data lives there`);
        const updated = await tx.updateTable('volume')
          .set({ name: settings.name, trash_days: settings.trashDays, capacity: settings.capacity ?? existing.capacity, inodes: settings.inodes ?? existing.inodes })
          .where('id', '=', 1).returningAll().executeTakeFirstOrThrow();
        return { created: false, volume: toVolume(updated) };
      }
      const now = nowNs();
      const inserted = await tx.insertInto('volume').values({
        id: 1, uuid: randomUUID(), name: settings.name, block_size: settings.blockSize, compression: settings.compression,
        storage: settings.storage, trash_days: settings.trashDays, format_version: SCHEMA_VERSION,
        capacity: settings.capacity ?? 0, inodes: settings.inodes ?? 0, created_at: now,
      }).returningAll().executeTakeFirstOrThrow();
      const uid = options.rootUid ?? process.getuid?.() ?? 0;
      const gid = options.rootGid ?? process.getgid?.() ?? 0;
      await tx.insertInto('node').values({
        inode: ROOT_INO, type: NODE_TYPE_CODE.directory, mode: 0o755, uid, gid, atime: now, mtime: now, ctime: now, nlink: 2, length: 0, rdev: 0, parent: ROOT_INO,
      }).execute();
      return { created: true, volume: toVolume(inserted) };
    });
  } finally {
    await database.close();
  }
}
