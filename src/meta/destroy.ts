/**
 * The metadata side of `objectfs destroy` (maintenance/destroy.ts runs the whole command): read
 * what is about to go, mark the volume as being destroyed, and at the very end drop every
 * ObjectFS table in one transaction. Works on a volume already marked, which the engine
 * (openMeta) refuses to open, so an interrupted destroy can always be finished.
 */
import { openDatabase, dropSchema, type DroppedSchema, type OpenDatabase } from '../db/index.js';
import { USAGE_SQL } from './counters.js';
import { VolumeUuidMismatchError } from './errors.js';
import { checkSchema, readVolume } from './open-meta.js';
import { listSessions } from './sessions.js';
import { metaRetryPolicy, statement, type RetryContext } from './tx.js';
import { toVolume } from './volume-row.js';
import type { SessionRow, VolumeRecord } from './types.js';

/** What destroy may look at and do to a volume's metadata. */
export interface DestroyMeta {
  /** The volume record as read at open (`destroyingSince` set when a destroy already began). */
  readonly volume: VolumeRecord;
  /** The metadata URL with secrets masked. */
  readonly displayUrl: string;
  /** Bytes and inodes in use (exact: counters plus the journal). */
  usage(): Promise<{ readonly usedSpace: number; readonly usedInodes: number }>;
  listSessions(): Promise<SessionRow[]>;
  /**
   * Marks the volume as being destroyed, in one transaction holding its row FOR UPDATE: checks
   * the uuid, then calls `check` with the sessions as they are under that lock (a session
   * registering meanwhile either shows here or waits and then sees the mark), which throws to
   * refuse (nothing is changed then). Keeps the time of an earlier mark; returns the mark's time.
   */
  mark(uuid: string, check: (sessions: readonly SessionRow[]) => void): Promise<number>;
  /** Drops every ObjectFS table and function in one transaction, if the volume `uuid` is still marked. */
  dropAll(uuid: string): Promise<DroppedSchema>;
  close(): Promise<void>;
}

/** The one message for a uuid that is not the volume's: it names both. */
export function uuidMismatch(volume: VolumeRecord, given: string): VolumeUuidMismatchError {
  return new VolumeUuidMismatchError(`"${given}" is not the uuid of volume "${volume.name}" (${volume.uuid}): nothing was deleted`);
}

/** Does `given` name volume `uuid`? (Case does not matter: PostgreSQL prints uuids in lower case.) */
export function sameUuid(uuid: string, given: string): boolean {
  return uuid.toLowerCase() === given.trim().toLowerCase();
}

class DatabaseDestroyMeta implements DestroyMeta {
  readonly volume: VolumeRecord;
  readonly #database: OpenDatabase;
  readonly #retry: RetryContext = { retry: metaRetryPolicy(), metrics: undefined };

  constructor(database: OpenDatabase, volume: VolumeRecord) {
    this.#database = database;
    this.volume = volume;
  }

  get displayUrl(): string { return this.#database.displayUrl; }

  async usage(): Promise<{ usedSpace: number; usedInodes: number }> {
    const row = (await statement(() => USAGE_SQL.execute(this.#database.db), this.#retry)).rows[0];
    return { usedSpace: Math.max(0, Number(row?.space ?? 0)), usedInodes: Math.max(0, Number(row?.inodes ?? 0)) };
  }

  listSessions(): Promise<SessionRow[]> {
    return statement(() => listSessions({ db: this.#database.db }), this.#retry);
  }

  mark(uuid: string, check: (sessions: readonly SessionRow[]) => void): Promise<number> {
    return statement(() => this.#database.db.transaction().execute(async (tx) => {
      const volume = toVolume(await tx.selectFrom('volume').selectAll().where('id', '=', 1).forUpdate().executeTakeFirstOrThrow());
      if (!sameUuid(volume.uuid, uuid)) throw uuidMismatch(volume, uuid);
      // A statement after the lock: READ COMMITTED gives it a snapshot that holds every
      // session whose registration held the row before us.
      check(await listSessions({ db: tx }));
      if (volume.destroyingSince !== undefined) return volume.destroyingSince;
      const now = Date.now();
      await tx.updateTable('volume').set({ destroying: now }).where('id', '=', 1).execute();
      return now;
    }), this.#retry);
  }

  dropAll(uuid: string): Promise<DroppedSchema> {
    return statement(() => this.#database.db.transaction().execute(async (tx) => {
      const volume = toVolume(await tx.selectFrom('volume').selectAll().where('id', '=', 1).forUpdate().executeTakeFirstOrThrow());
      if (!sameUuid(volume.uuid, uuid)) throw uuidMismatch(volume, uuid);
      if (volume.destroyingSince === undefined) throw new Error(`volume "${volume.name}" is not marked as being destroyed: its metadata is not dropped`);
      return dropSchema(tx);
    }), this.#retry);
  }

  close(): Promise<void> { return this.#database.close(); }
}

/**
 * Opens the metadata of the volume at `metaUrl` for destroy: NotFormattedError (as for any
 * command) when there is none, a volume being destroyed included. An older schema is migrated
 * first, as every opener does; a newer one is refused (SchemaTooNewError), since this build
 * would not know all of its tables.
 */
export async function openDestroyMeta(metaUrl: string): Promise<DestroyMeta> {
  const database = await openDatabase(metaUrl, { maxConnections: 2 });
  try {
    await checkSchema(database);
    return new DatabaseDestroyMeta(database, await readVolume(database.db, database.displayUrl));
  } catch (err) {
    await database.close();
    throw err;
  }
}
