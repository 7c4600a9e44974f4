/**
 * `objectfs umount MOUNTPOINT`: asks the daemon serving the mount point to commit pending
 * writes and unmount (SIGTERM), and waits for it. With --lazy, or when no daemon answers, the
 * kernel mount is detached with fusermount3 -uz.
 */
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { clearStaleMount, daemonOf, isObjectfsMount, lazyUnmount } from '../fuse/index.js';
import { EXIT_FAILURE } from './errors.js';
import type { Output } from './output.js';

export function registerUmount(program: Command, out: Output): void {
  program.command('umount')
    .description('commit pending writes and unmount')
    .argument('<MOUNTPOINT>', 'mounted directory')
    .option('--lazy', 'detach at once, even if busy')
    .option('--timeout <SECONDS>', 'how long to wait for pending writes', (v) => Number(v), 300)
    .action(async (mountPoint: string, flags: { lazy?: boolean; timeout: number }) => {
      const mnt = resolve(mountPoint);
      if (await clearStaleMount(mnt)) {
        out.line(`cleared a dead mount at ${mnt}`);
        return;
      }
      if (!isObjectfsMount(mnt)) throw new CliError(EXIT_FAILURE, 'ENOTMOUNTED', `${mnt} is not an ObjectFS mount`);
      const pid = await daemonOf(mnt);
      if (pid !== undefined && !flags.lazy) {
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + flags.timeout * 1000;
        while (Date.now() < deadline) {
          if (!isObjectfsMount(mnt) && (await daemonOf(mnt)) === undefined) {
            out.line(`unmounted ${mnt}`);
            return;
          }
          await sleep(100);
        }
        throw new CliError(EXIT_FAILURE, 'ETIMEDOUT', `the daemon (pid ${pid}) did not finish within ${flags.timeout} s; try again or use --lazy`);
      }
      await lazyUnmount(mnt);
      if (isObjectfsMount(mnt)) throw new CliError(EXIT_FAILURE, 'EBUSY', `could not unmount ${mnt}`);
      out.line(`unmounted ${mnt}${pid === undefined ? ' (no daemon found: detached)' : ''}`);
    });
}
