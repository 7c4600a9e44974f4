/** How long each FUSE operation may go unanswered before it is answered EIO (pure). */
import type { OpTimeouts } from './session.js';

/**
 * Answer deadlines from the metadata retry budget: metadata operations wait out a database
 * restart for up to that budget, so they are answered EIO only 30 s after it. Data operations
 * that commit (write, flush, fsync, release, setattr, create) may wait on a slow object store
 * and are never cut off, nor is a lock wait.
 */
export function opTimeouts(metaRetryMs = 60_000): OpTimeouts {
  return {
    default: metaRetryMs + 30_000, read: Math.max(120_000, metaRetryMs + 30_000), write: 0, flush: 0, fsync: 0, release: 0,
    setattr: 0, create: 0, fallocate: 0, copy_file_range: 0, lseek: 0,
    // A lock wait lasts until the holder lets go (or a signal interrupts it).
    setlk: 0,
  };
}

