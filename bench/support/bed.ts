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

/**
 * A bed removed on every way out of the benchmark: its normal end, and SIGINT, SIGTERM or SIGHUP
 * (exit status 128 + the signal's number); what could not be removed is told through `note`.
 */
export function createCleanedBed(prefix: string, note: (msg: string) => void): BenchBed {
  const bed = createBed(prefix);
  process.on('exit', () => void bed.finish());
  for (const [signal, number] of [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]] as const) {
    process.on(signal, () => {
      note(`${signal}: stopping, cleaning up`);
      for (const w of bed.finish()) note(`cleanup: ${w}`);
      process.exit(128 + number);
    });
  }
  return bed;
}
