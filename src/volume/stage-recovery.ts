/**
 * Write-back recovery (decision 90): blocks a previous run of this cache directory staged and
 * did not upload (it was killed, or unmounted with the object store away) go to the object store
 * before the new mount serves anything; then their slices stop being staged in the metadata and
 * the stage files go. A leftover whose slice was never committed (killed between staging and
 * commit: its close never returned) uploads as an unreferenced object, which gc removes.
 */
import { parseBlockKey, type BlockStage } from '../chunk/index.js';
import type { MetaEngine, MetaLog } from '../meta/index.js';

export async function recoverStage(stage: BlockStage, meta: Pick<MetaEngine, 'unstageSlices'>, log: MetaLog | undefined): Promise<void> {
  if (stage.leftovers.length === 0) return;
  const started = Date.now();
  log?.info(`write-back: uploading ${stage.leftovers.length} block(s) staged by an earlier run before serving`, { dir: stage.dir });
  await stage.drain();
  const sliceIds = new Set<number>();
  for (const key of stage.leftovers) {
    const parts = parseBlockKey(key);
    if (parts !== undefined) sliceIds.add(parts.sliceId);
  }
  await meta.unstageSlices([...sliceIds]);
  await stage.release(stage.leftovers);
  log?.info(`write-back: ${stage.leftovers.length} leftover block(s) of ${sliceIds.size} slice(s) uploaded in ${Date.now() - started} ms`);
}
