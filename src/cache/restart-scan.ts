/**
 * Rebuilding a DiskCache's index from its directory at open, so the cache survives restarts:
 * every complete block file is indexed (oldest written first: no access times are kept),
 * leftover temporary files of interrupted writes are removed, and files too short to hold a
 * header are deleted as corrupt.
 */
import { lstat, opendir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BLOCK_FILE_HEADER_SIZE, TEMP_SUFFIX_RE } from './block-file.js';

/** Directory entries handled between two yields to the event loop. */
const SCAN_BATCH = 256;

export interface ScannedFile {
  readonly key: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface ScanResult {
  /** Block files, least recently written first. */
  readonly files: ScannedFile[];
  readonly tempFilesRemoved: number;
  readonly corruptions: number;
  /** Files that could not be removed. */
  readonly errors: number;
}

interface Entry {
  readonly name: string;
  readonly isDir: boolean;
  readonly isFile: boolean;
}

/**
 * Walks `dir` with async fs calls, SCAN_BATCH entries at a time with a yield to the event loop
 * in between, so a cache of a million files does not stall a mount starting up.
 */
export async function scanCacheDir(dir: string): Promise<ScanResult> {
  const result = { files: [] as ScannedFile[], tempFilesRemoved: 0, corruptions: 0, errors: 0 };
  const dirs: string[] = [''];
  for (let rel = dirs.pop(); rel !== undefined; rel = dirs.pop()) {
    const names: Entry[] = [];
    for await (const ent of await opendir(join(dir, rel), { bufferSize: SCAN_BATCH })) {
      names.push({ name: ent.name, isDir: ent.isDirectory(), isFile: ent.isFile() });
      if (names.length >= SCAN_BATCH) {
        await scanBatch(dir, rel, names.splice(0), result, dirs);
        await nextTurn();
      }
    }
    await scanBatch(dir, rel, names, result, dirs);
  }
  result.files.sort((a, b) => a.mtimeMs - b.mtimeMs);
  return result;
}

async function scanBatch(dir: string, rel: string, entries: readonly Entry[], out: { -readonly [K in keyof ScanResult]: ScanResult[K] }, dirs: string[]): Promise<void> {
  await Promise.all(entries.map(async ({ name, isDir, isFile }) => {
    const key = rel === '' ? name : `${rel}/${name}`;
    const path = join(dir, key);
    if (isDir) {
      dirs.push(key);
    } else if (isFile && TEMP_SUFFIX_RE.test(name)) {
      await unlink(path).then(() => { out.tempFilesRemoved++; }, () => { out.errors++; });
    } else if (isFile) {
      const st = await lstat(path).catch(() => undefined); // vanished: nothing to index
      if (st === undefined) return;
      if (st.size < BLOCK_FILE_HEADER_SIZE) { // cannot even hold a header
        out.corruptions++;
        await unlink(path).catch(() => { out.errors++; });
      } else {
        out.files.push({ key, size: st.size, mtimeMs: st.mtimeMs });
      }
    }
  }));
}
