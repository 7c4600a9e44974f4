/**
 * `objectfs umount MOUNTPOINT`: asks the daemon serving the mount point to commit pending
 * writes and unmount (SIGTERM), and returns once the daemon process has exited (its session
 * ended, its database connections closed), or says that it is still finishing when --timeout
 * runs out. With --lazy, or when no daemon answers, the kernel mount is detached with
 * fusermount3 -uz at once.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import { clearStaleMount, daemonOf, isMounted, lazyUnmount } from '../fuse/index.js';
import { EXIT_FAILURE } from './errors.js';
import { durationOption } from './options.js';
import { formatDuration } from '../util/duration.js';
import type { Output } from './output.js';

export function registerUmount(program: Command, out: Output): void {
  program.command('umount')
    .description('commit pending writes and unmount')
    .argument('<MOUNTPOINT>', 'mounted directory')
    .option('--lazy', 'detach at once, even if busy')
    .addOption(new Option('--timeout <DURATION>', 'how long to wait for pending writes: 90s, 10m, or seconds').argParser(durationOption).default(300, '5m'))
    .option('--json', 'print the result as JSON')
    .action(async (mountPoint: string, flags: { lazy?: boolean; timeout: number; json?: boolean }) => {
      const mnt = resolve(mountPoint);
      // how: "daemon" (it committed and exited), "detached" (lazy unmount), "cleared" (a dead mount).
      const done = (how: 'daemon' | 'detached' | 'cleared', pid: number | undefined, text: string) => {
        if (flags.json) out.json({ mountPoint: mnt, unmounted: true, how, pid: pid ?? null });
        else out.line(text);
      };
      if (await clearStaleMount(mnt)) {
        done('cleared', undefined, `cleared a dead mount at ${mnt}`);
        return;
      }
      if (!isMounted(mnt)) throw new CliError(EXIT_FAILURE, 'ENOTMOUNTED', `${mnt} is not an ObjectFS mount`);
      const pid = await daemonOf(mnt);
      const deadline = Date.now() + flags.timeout * 1000;
      if (pid !== undefined && !flags.lazy) {
        process.kill(pid, 'SIGTERM');
        // The kernel mount and the pid file go before the process has finished closing: wait
        // for the process itself.
        if (await exitedBy(pid, deadline, () => !isMounted(mnt))) {
          done('daemon', pid, `unmounted ${mnt}`);
          return;
        }
        throw new CliError(EXIT_FAILURE, 'ETIMEDOUT', isMounted(mnt)
          ? `the daemon (pid ${pid}) did not finish within ${formatDuration(flags.timeout)}; try again or use --lazy`
          : `${mnt} is unmounted, but the daemon (pid ${pid}) is still finishing after ${formatDuration(flags.timeout)}; it exits on its own`);
      }
      await lazyUnmount(mnt);
      if (isMounted(mnt)) throw new CliError(EXIT_FAILURE, 'EBUSY', `could not unmount ${mnt}`);
      // --lazy is asked not to wait: say so if the daemon is still at work.
      const finishing = pid !== undefined && processState(pid) === 'running';
      done('detached', pid, `unmounted ${mnt}${pid === undefined ? ' (no daemon found: detached)' : finishing ? ` (detached; the daemon, pid ${pid}, is still finishing)` : ''}`);
    });
}

/** How long umount waits for a daemon that has exited to be reaped (see processState). */
const REAP_GRACE_MS = 5000;

/**
 * `gone`, `running`, or `zombie`: exited, but still in the process table until its parent
 * reaps it. A --background daemon's parent is the init process (its starter exited), which
 * may reap only about once a second; until then `ps` and `kill -0` still show the pid.
 */
function processState(pid: number): 'gone' | 'running' | 'zombie' {
  try {
    process.kill(pid, 0);
  } catch {
    return 'gone';
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 'gone'; // gone between the two looks
  }
  // "pid (comm) S …": the state follows the last ')' (comm may hold spaces and parentheses).
  const end = stat.lastIndexOf(')');
  return stat.slice(end + 2, end + 3) === 'Z' ? 'zombie' : 'running';
}

/**
 * Waits until `pid` has exited and `also()` holds, or `deadline` (ms) passes; true if it did.
 * An exited daemon is then given a moment to be reaped, so that its pid is gone on return
 * (if nobody reaps it, it has still exited: true after the grace).
 */
async function exitedBy(pid: number, deadline: number, also: () => boolean): Promise<boolean> {
  for (;;) {
    if (processState(pid) !== 'running' && also()) break;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    // Never sleep past the deadline: a daemon that exits after it did not finish in time.
    await sleep(Math.min(50, left));
  }
  const reapBy = Date.now() + REAP_GRACE_MS;
  while (processState(pid) === 'zombie' && Date.now() < reapBy) await sleep(20);
  return true;
}
