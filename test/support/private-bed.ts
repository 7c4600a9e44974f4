/**
 * A private scratch bed for a test file or a benchmark run: one temp root holding everything it
 * creates (PostgreSQL clusters, s3rver data, mount points), plus processes and network
 * namespaces, all removed on every exit.
 *
 * It reuses the test bed's teardown and dead-man switch (guard.ts): the
 * reaper is told what exists as soon as it may exist, and tears it down itself if this process
 * dies without doing so (SIGKILL, a crash in native code).
 */
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guardBed } from './guard.js';
import type { BedState, PgCluster } from './teardown.js';

export interface PrivateBed {
  /** The temp root; everything in it is deleted by finish(). */
  readonly root: string;
  /** Records a PostgreSQL cluster that finish() must stop. */
  setPg(pg: PgCluster): void;
  /** Records the pid of an s3rver child that finish() must kill. */
  setS3Pid(pid: number): void;
  /**
   * Records a process that finish() must SIGKILL if it is still alive and its command line
   * still contains `marker` (something unique to it, e.g. its mount point).
   */
  addPid(pid: number, marker: string): void;
  /** Network namespaces and links under this name prefix are deleted by finish(). */
  setNetnsPrefix(prefix: string): void;
  /** Stops and removes everything (synchronous, so signal handlers can call it); idempotent. */
  finish(): string[];
}

export function createPrivateBed(prefix: string): PrivateBed {
  const root = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(root, 0o755); // the postgres user must traverse it to reach its data dir
  const state: BedState = { tmpRoot: root };
  const { publish, finish } = guardBed(state, false);
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
    addPid(pid: number, marker: string): void {
      state.pids = [...(state.pids ?? []), { pid, marker }];
      publish();
    },
    setNetnsPrefix(netnsPrefix: string): void {
      state.netnsPrefix = netnsPrefix;
      publish();
    },
    finish,
  };
}
