/**
 * Watching the configuration file of a running mount. A file rewritten in place (`echo … >
 * objectfs.yaml`, most scripts) is empty between its truncation and its write; a reload that
 * read it then would put every setting back to its default, silently (seen in CI: the memory
 * cache bound fell to its default while a test rewrote the file). So a change is acted on only
 * once the file has stayed the same for `settleMs`: long enough for any write that is not stuck.
 */
import { statSync, unwatchFile, watchFile, type Stats } from 'node:fs';

export interface SettledWatch {
  /** Stops watching; a settle pending is dropped. */
  close(): void;
}

/** Default wait for a changed file to stay the same before it is read. */
export const CONFIG_SETTLE_MS = 300;

function sameFile(a: Stats, b: Stats): boolean {
  return a.mtimeMs === b.mtimeMs && a.size === b.size && a.ino === b.ino;
}

/**
 * Calls `onSettled` after `file` changed (polled every `pollMs`) and then stayed the same for
 * `settleMs`. A file that is gone at that moment counts as settled (the reload reports it).
 */
export function watchSettled(file: string, onSettled: () => void, { pollMs = 1000, settleMs = CONFIG_SETTLE_MS } = {}): SettledWatch {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const settle = (seen: Stats): void => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (closed) return;
      let now: Stats | undefined;
      try {
        now = statSync(file);
      } catch {
        now = undefined;
      }
      if (now !== undefined && !sameFile(now, seen)) settle(now); // still being written
      else onSettled();
    }, settleMs);
  };
  const listener = (cur: Stats, prev: Stats): void => {
    if (!sameFile(cur, prev)) settle(cur);
  };
  watchFile(file, { interval: pollMs }, listener);
  return {
    close(): void {
      closed = true;
      clearTimeout(timer);
      unwatchFile(file, listener);
    },
  };
}
