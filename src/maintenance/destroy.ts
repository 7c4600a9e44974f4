/**
 * `objectfs destroy`: deletes a volume's objects and then its metadata, in an order that a
 * re-run can always finish:
 *
 *  1. plan: read the volume, check the uuid the caller gave, the sessions, count the objects
 *     under the volume's prefix; the caller confirms (nothing changed so far);
 *  2. mark: `volume.destroying` is set in one transaction that checks the sessions again under
 *     the volume row's lock; from then on no mount can start and no command opens the volume;
 *  3. objects: every object under `NAME/` is deleted (pages of 1000 from the start of the
 *     prefix, each deleted with bounded concurrency, the store's own retries), until a listing
 *     comes back empty;
 *  4. metadata: every ObjectFS table and function is dropped in one transaction.
 *
 * Interrupted anywhere, the volume is either untouched (before 2), marked with some or all
 * objects gone (2–4: running destroy again finishes), or gone (after 4). Nothing outside the
 * volume's prefix is ever listed or deleted: the store is the volume's PrefixedStore.
 */
import { openDestroyMeta, sameUuid, uuidMismatch, type SessionRow } from '../meta/index.js';
import { ObjectStoreError, type ObjectStore, type OpenStoreOptions } from '../object/index.js';
import { openVolumeStore, volumePrefix } from '../volume/volume-store.js';
import { forEachLimit } from './parallel.js';
import { SILENT_PROGRESS, type Progress, type ProgressPhase } from './progress.js';
import { sessionRefusal } from './destroy-sessions.js';

import { DEFAULT_DESTROY_THREADS } from './defaults.js';

export { DEFAULT_DESTROY_THREADS };
/** Keys listed and deleted per round. */
const PAGE = 1000;

/** Destroy refused because of the volume's sessions; the message lists them. */
export class DestroySessionsError extends Error {
  override readonly name = 'DestroySessionsError';
}

/** The caller's confirmation said no: nothing was deleted. */
export class DestroyDeclinedError extends Error {
  override readonly name = 'DestroyDeclinedError';
}

/** What destroy is about to delete, shown before anything is. */
export interface DestroyPlan {
  readonly name: string;
  readonly uuid: string;
  /** The storage URL as stored in the volume record (no credentials: format refuses them there). */
  readonly storage: string;
  /** The key prefix of the volume's objects inside the storage URL (`NAME/`). */
  readonly prefix: string;
  /** The metadata URL, secrets masked. */
  readonly meta: string;
  readonly usedInodes: number;
  readonly usedBytes: number;
  /** Objects found under the prefix, and their bytes. */
  readonly objects: number;
  readonly objectBytes: number;
  /** Sessions present (stale ones only, when destroy may go on). */
  readonly sessions: readonly SessionRow[];
  /** When an earlier destroy marked the volume (ms since the epoch): this run finishes it. */
  readonly resumingSince?: number;
}

export interface DestroyOptions {
  /** The volume's uuid, as the caller's proof of which volume they mean. */
  readonly uuid: string;
  /** Go on past stale sessions (never past a live one). */
  readonly force?: boolean;
  /** Shown the plan before anything changes; resolves false to stop (DestroyDeclinedError). Absent: go on. */
  readonly confirm?: (plan: DestroyPlan) => Promise<boolean>;
  /** Deletions in flight (default 16). */
  readonly threads?: number;
  readonly progress?: Progress;
  /** Passed to the object store (timeouts, retries, credentials). */
  readonly storeOptions?: OpenStoreOptions;
  /** Wraps the volume's object store (fault injection in tests). */
  readonly wrapStore?: (store: ObjectStore) => ObjectStore;
}

export interface DestroyReport {
  readonly plan: DestroyPlan;
  readonly objectsDeleted: number;
  readonly bytesDeleted: number;
  /** Tables dropped, and the rows they held. */
  readonly tablesDropped: readonly string[];
  readonly rowsDropped: number;
  readonly functionsDropped: readonly string[];
  readonly elapsedMs: number;
}

/** Destroys the volume at `metaUrl`: see the file comment for the order. */
export async function runDestroy(metaUrl: string, options: DestroyOptions): Promise<DestroyReport> {
  const started = Date.now();
  const progress = options.progress ?? SILENT_PROGRESS;
  const meta = await openDestroyMeta(metaUrl);
  try {
    const volume = meta.volume;
    if (!sameUuid(volume.uuid, options.uuid)) throw uuidMismatch(volume, options.uuid);
    const sessions = await meta.listSessions();
    checkSessions(volume.name, sessions, options.force === true);
    const { base, store: volumeStore } = await openVolumeStore(volume.storage, volume.name, options.storeOptions);
    try {
      const store = options.wrapStore ? options.wrapStore(volumeStore) : volumeStore;
      const usage = await meta.usage();
      const counted = await countObjects(store, progress.phase('counting objects'));
      const plan: DestroyPlan = {
        name: volume.name, uuid: volume.uuid, storage: volume.storage, prefix: volumePrefix(volume.name), meta: meta.displayUrl,
        usedInodes: usage.usedInodes, usedBytes: usage.usedSpace, objects: counted.count, objectBytes: counted.bytes, sessions,
        ...(volume.destroyingSince === undefined ? {} : { resumingSince: volume.destroyingSince }),
      };
      if (options.confirm !== undefined && !(await options.confirm(plan))) {
        throw new DestroyDeclinedError(`volume "${volume.name}" was not destroyed: nothing was deleted`);
      }
      await meta.mark(options.uuid, (current) => checkSessions(volume.name, current, options.force === true));
      const deleted = await deleteObjects(store, options.threads ?? DEFAULT_DESTROY_THREADS, progress.phase('deleting objects', counted.count));
      const dropped = await meta.dropAll(options.uuid);
      return {
        plan, objectsDeleted: deleted.count, bytesDeleted: deleted.bytes,
        tablesDropped: dropped.tables, rowsDropped: dropped.rows, functionsDropped: dropped.functions, elapsedMs: Date.now() - started,
      };
    } finally {
      await base.close();
    }
  } finally {
    await meta.close();
  }
}

function checkSessions(name: string, sessions: readonly SessionRow[], force: boolean): void {
  const refusal = sessionRefusal(name, sessions, Date.now(), force);
  if (refusal !== undefined) throw new DestroySessionsError(refusal);
}

async function countObjects(store: ObjectStore, phase: ProgressPhase): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await store.list({ token, limit: PAGE });
    for (const o of page.objects) bytes += o.size;
    count += page.objects.length;
    phase.add(page.objects.length);
    token = page.next;
  } while (token !== undefined);
  phase.end();
  return { count, bytes };
}

/**
 * Deletes every object of `store`, a page at a time from the start of the listing, until a
 * listing is empty: what a previous run or a page's failure left is simply listed again.
 */
export async function deleteObjects(store: ObjectStore, threads: number, phase: ProgressPhase = SILENT_PROGRESS.phase('')): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  let previous = new Set<string>();
  for (;;) {
    const page = await store.list({ limit: PAGE });
    if (page.objects.length === 0) break;
    // A key deleted in the last round and listed again means the store does not delete (or
    // lists stale pages): stop instead of going round forever.
    const again = page.objects.find((o) => previous.has(o.key));
    if (again !== undefined) throw new ObjectStoreError(`${store.describe()} still lists "${again.key}" after deleting it`);
    await forEachLimit(page.objects, threads, async (o) => {
      await store.delete(o.key);
      count++;
      bytes += o.size;
      phase.add(1);
    });
    previous = new Set(page.objects.map((o) => o.key));
  }
  phase.end();
  return { count, bytes };
}
