/**
 * The benchmark's scratch area: one temp root holding everything a run creates (PGlite
 * directories, a private PostgreSQL cluster, an s3rver data directory), removed on every exit.
 *
 * It reuses the test bed's teardown (test/support/teardown.ts) and its dead-man switch
 * (test/support/reaper.ts): the reaper is told what exists as soon as it may exist, and tears it
 * down itself if this process dies without doing so (SIGKILL, a crash in native code).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { teardown, type BedState, type PgCluster } from '../../test/support/teardown.js';

/** <root>/dist/test/support, where the compiled reaper lives. */
const TEST_SUPPORT = join(dirname(dirname(dirname(fileURLToPath(import.meta.url)))), 'test', 'support');

export interface BenchBed {
  /** The temp root; everything in it is deleted by finish(). */
  readonly root: string;
  /** Records a PostgreSQL cluster that finish() must stop. */
  setPg(pg: PgCluster): void;
  /** Records the pid of an s3rver child that finish() must kill. */
  setS3Pid(pid: number): void;
  /** Stops and removes everything (synchronous, so signal handlers can call it); idempotent. */
  finish(): string[];
}

export function createBed(prefix = 'objectfs-bench-'): BenchBed {
  const root = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(root, 0o755); // the postgres user must traverse it to reach its data dir
  const state: BedState = { tmpRoot: root };
  const reaper: ChildProcess = spawn(process.execPath, [join(TEST_SUPPORT, 'reaper.js')], {
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  reaper.unref();
  const publish = (): void => {
    if (reaper.connected) reaper.send({ state });
  };
  publish();
  let finished = false;
  return {
    root,
    setPg(pg: PgCluster): void {
      state.pg = pg;
      publish();
    },
    setS3Pid(pid: number): void {
      state.s3Pid = pid;
      publish();
    },
    finish(): string[] {
      if (finished) return [];
      finished = true;
      const warnings = teardown(state);
      if (reaper.connected) {
        reaper.send({ done: true });
        reaper.disconnect();
      }
      return warnings;
    },
  };
}
