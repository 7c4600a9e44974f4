/**
 * An exclusive lock on an embedded database directory: PGlite must never be opened by two
 * processes at once. The lock file holds the owner's pid; a lock whose pid is gone is stale
 * and taken over.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** The lock file's name inside the directory it locks. */
export const LOCK_FILE = 'objectfs.lock';

export interface DirLock {
  release(): Promise<void>;
}

/** The directory is in use by another live process. */
export class DirLockedError extends Error {
  override readonly name = 'DirLockedError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function acquireDirLock(dir: string): Promise<DirLock> {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      let released = false;
      return { async release() { if (!released) { released = true; await unlink(path).catch(() => undefined); } } };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
        throw new DirLockedError(`embedded database ${dir} is in use by process ${pid} (PGlite serves one process at a time; use PostgreSQL to share a volume)`);
      }
      if (pid === process.pid) throw new DirLockedError(`embedded database ${dir} is already open in this process`);
      await unlink(path).catch(() => undefined);
    }
  }
  throw new DirLockedError(`could not lock embedded database ${dir}`);
}
