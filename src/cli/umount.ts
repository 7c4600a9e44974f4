/**
 * `objectfs umount MOUNTPOINT`: asks the daemon serving the mount point to commit pending
 * writes and unmount (SIGTERM), and waits for it. With --lazy, or when no daemon answers, the
 * kernel mount is detached with fusermount3 -uz.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Option, type Command } from 'commander';
import { CliError } from '../errors.js';
import { clearStaleMount, daemonOf, isObjectfsMount, lazyUnmount } from '../fuse/index.js';
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
      if (!isObjectfsMount(mnt)) throw new CliError(EXIT_FAILURE, 'ENOTMOUNTED', `${mnt} is not an ObjectFS mount`);
      const pid = await daemonOf(mnt);
      if (pid !== undefined && !flags.lazy) {
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + flags.timeout * 1000;
        while (Date.now() < deadline) {
          if (!isObjectfsMount(mnt) && (await daemonOf(mnt)) === undefined) {
            done('daemon', pid, `unmounted ${mnt}`);
            return;
          }
          await sleep(100);
        }
        throw new CliError(EXIT_FAILURE, 'ETIMEDOUT', `the daemon (pid ${pid}) did not finish within ${formatDuration(flags.timeout)}; try again or use --lazy`);
      }
      await lazyUnmount(mnt);
      if (isObjectfsMount(mnt)) throw new CliError(EXIT_FAILURE, 'EBUSY', `could not unmount ${mnt}`);
      done('detached', pid, `unmounted ${mnt}${pid === undefined ? ' (no daemon found: detached)' : ''}`);
    });
}
