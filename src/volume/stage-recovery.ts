/**
 * Write-back recovery (decision 90): blocks a previous run of this cache directory staged and
 * did not upload (it was killed, or unmounted with the object store away) go to the object store
 * before the new mount serves anything. Each slice stops being staged in the metadata, and its
 * stage files go, as soon as all its blocks are up, so an open stopped halfway (the object store
 * went away, the mount was killed) keeps what it uploaded and the next one goes on from there
 * (decision 101). A leftover whose slice was never committed (killed between staging and
 * commit: its close never returned) uploads as an unreferenced object, which gc removes.
 *
 * The wait is bounded by progress, not by time: a large backlog may take long, but when every
 * upload has failed for `stallMs` the open fails with the reason, and the blocks stay staged.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseBlockKey, type BlockStage } from '../chunk/index.js';
import type { MetaEngine, MetaLog } from '../meta/index.js';
import { StagedUploads } from '../vfs/index.js';

/** Default of RecoveryOptions.stallMs. */
export const RECOVERY_STALL_MS = 60_000;
/** How often progress is reported and the stall checked. */
const TICK_MS = 200;
/** A progress line in the log at most this often. */
const LOG_EVERY_MS = 10_000;

export interface RecoveryProgress {
  readonly uploaded: number;
  readonly total: number;
}

export interface RecoveryOptions {
  /** Give up when every upload has failed for this long (default RECOVERY_STALL_MS). */
  readonly stallMs?: number;
  /** Told at first and whenever more is uploaded (a background mount's parent waits while it moves). */
  readonly onProgress?: (progress: RecoveryProgress) => void;
}

/** The object store took no leftover for `stallMs`: the mount must not serve yet. */
export class RecoveryStalledError extends Error {
  override readonly name = 'RecoveryStalledError';
}

export async function recoverStage(stage: BlockStage, meta: Pick<MetaEngine, 'unstageSlices'>, log: MetaLog | undefined, options: RecoveryOptions = {}): Promise<void> {
  const total = stage.leftovers.length;
  if (total === 0) return;
  const stallMs = options.stallMs ?? RECOVERY_STALL_MS;
  const started = Date.now();
  log?.info(`write-back: uploading ${total} block(s) staged by an earlier run before serving`, { dir: stage.dir });
  const bySlice = new Map<number, string[]>();
  const foreign: string[] = []; // names no slice: just uploaded and released
  for (const key of stage.leftovers) {
    const id = parseBlockKey(key)?.sliceId;
    if (id === undefined) foreign.push(key);
    else if (bySlice.has(id)) bySlice.get(id)?.push(key);
    else bySlice.set(id, [key]);
  }
  let uploaded = 0;
  const release = async (keys: readonly string[]) => {
    await stage.release(keys);
    uploaded += keys.length;
  };
  // The vfs's own bookkeeping of staged slices, over the leftovers' keys: a slice is unmarked
  // (batched with the others ready) and released once the stage has uploaded all its blocks.
  const slices = new StagedUploads(meta, {
    sliceStored: (id) => stage.stored(bySlice.get(id) ?? []),
    releaseStaged: (id) => release(bySlice.get(id) ?? []),
  });
  for (const id of bySlice.keys()) slices.track(0, id, 0);
  let finished = false;
  const done = Promise.all([slices.drainedAll(), stage.stored(foreign).then(() => release(foreign))]).then(() => { finished = true; });
  void done.catch(() => undefined); // seen by the race below, or dropped once the open failed
  let loggedAt = started;
  let told = -1;
  while (!finished) {
    await Promise.race([done, sleep(TICK_MS)]);
    if (finished) break;
    if (uploaded !== told) {
      told = uploaded;
      options.onProgress?.({ uploaded, total });
    }
    const failure = stage.uploadFailure();
    if (failure !== undefined && Date.now() - failure.sinceMs >= stallMs) {
      const reason = failure.error instanceof Error ? failure.error.message : String(failure.error);
      throw new RecoveryStalledError(`write-back: ${total - uploaded} of ${total} block(s) staged by an earlier run could not be uploaded ` +
        `(every upload failed for ${Math.round(stallMs / 1000)} s; last error: ${reason}). They stay staged in ${stage.dir}; ` +
        'mount again with this cache directory once the object store is reachable');
    }
    if (Date.now() - loggedAt >= LOG_EVERY_MS) {
      loggedAt = Date.now();
      log?.info(`write-back: ${uploaded} of ${total} leftover block(s) uploaded`);
    }
  }
  log?.info(`write-back: ${total} leftover block(s) of ${bySlice.size} slice(s) uploaded in ${Date.now() - started} ms`);
}
