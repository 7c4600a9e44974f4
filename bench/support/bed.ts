/**
 * The benchmark's scratch area: one temp root holding everything a run creates (PGlite
 * directories, a private PostgreSQL cluster, an s3rver data directory), removed on every exit
 * (test/support/private-bed.ts, shared with the multi-host tests).
 */
import { createPrivateBed, type PrivateBed } from '../../test/support/private-bed.js';

export type BenchBed = PrivateBed;

export function createBed(prefix = 'objectfs-bench-'): BenchBed {
  return createPrivateBed(prefix);
}
