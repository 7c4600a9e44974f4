/**
 * How fsck and gc report progress: they open phases and count items (and bytes) as they go;
 * the CLI renders this as a bar on a terminal or as plain lines (cli/progress.ts). The engine
 * never prints.
 */

/** One phase of a run ("listing objects", "checking inodes"…). */
export interface ProgressPhase {
  /** `items` more done, carrying `bytes` bytes. */
  add(items: number, bytes?: number): void;
  end(): void;
}

export interface Progress {
  /** Starts a phase; `total` items when known in advance (for the ETA). */
  phase(name: string, total?: number): ProgressPhase;
}

/** A Progress that shows nothing (library callers, tests). */
export const SILENT_PROGRESS: Progress = Object.freeze({
  phase: () => Object.freeze({ add: () => undefined, end: () => undefined }),
});
