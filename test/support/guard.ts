/**
 * The dead-man switch of a test bed: a detached reaper process (reaper.ts) is told what the bed
 * holds after every change (publish), and tears it down itself if this process dies without
 * calling finish() (SIGKILL, a crash in native code).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { teardown, type BedState } from './teardown.js';

const REAPER = fileURLToPath(new URL('./reaper.js', import.meta.url));

export interface BedGuard {
  /** Sends the current `state` to the reaper; call after every change of it. */
  publish(): void;
  /** Stops and removes everything in `state` (synchronous, so signal handlers can call it); idempotent. */
  finish(): string[];
}

/**
 * Guards `state` (mutated by the caller, published on each change). With `holdProcess` false
 * the reaper's channel does not keep this process alive.
 */
export function guardBed(state: BedState, holdProcess: boolean): BedGuard {
  const reaper = spawn(process.execPath, [REAPER], { detached: true, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  reaper.unref();
  if (!holdProcess) (reaper as unknown as { channel?: { unref(): void } }).channel?.unref();
  const publish = (): void => {
    if (reaper.connected) reaper.send({ state });
  };
  publish();
  let finished = false;
  return {
    publish,
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
