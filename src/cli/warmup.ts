/**
 * `objectfs warmup PATH…`: fills the mount's caches with the blocks of files (directories are
 * walked) by reading them through the mount, so the daemon itself fetches and caches every
 * block in memory and on disk, exactly as a later reader would find them. Concurrent over
 * files; a progress bar on a terminal.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { EXIT_FAILURE } from './errors.js';
import { findMount } from './mount-record.js';
import { wholeNumberOption } from './options.js';
import type { Output } from './output.js';
import { streamProgress } from './progress.js';
import type { ProgressPhase } from '../maintenance/index.js';

const READ_SIZE = 1 << 20;

interface FileJob {
  readonly path: string;
  readonly size: number;
}

async function collect(path: string, out: FileJob[]): Promise<void> {
  const st = await stat(path);
  if (st.isFile()) out.push({ path, size: st.size });
  else if (st.isDirectory()) for (const e of await readdir(path)) await collect(join(path, e), out);
}

async function readWhole(job: FileJob, bar: ProgressPhase): Promise<void> {
  const fh = await open(job.path, 'r');
  try {
    const buf = Buffer.allocUnsafe(READ_SIZE);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, READ_SIZE, null);
      if (bytesRead === 0) break;
      bar.add(0, bytesRead);
    }
    bar.add(1);
  } finally {
    await fh.close();
  }
}

export function registerWarmup(program: Command, out: Output): void {
  program.command('warmup')
    .description('fill the mount\'s block caches with files (directories are walked)')
    .argument('<PATH...>', 'files or directories inside an ObjectFS mount')
    .option('-p, --threads <N>', 'files read at once', wholeNumberOption, 4)
    .action(async (paths: string[], flags: { threads: number }) => {
      const jobs: FileJob[] = [];
      for (const path of paths) {
        findMount(path); // refuses paths outside a mount
        await collect(path, jobs);
      }
      const bar = streamProgress('warmup').phase('files', jobs.length);
      const failures: string[] = [];
      let next = 0;
      const worker = async () => {
        for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
          await readWhole(job, bar).catch((err: NodeJS.ErrnoException) => { failures.push(`${job.path}: ${err.code ?? err.message}`); });
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, flags.threads) }, worker));
      bar.end();
      if (failures.length > 0) {
        for (const f of failures.slice(0, 20)) out.error(`  ${f}`);
        throw new CliError(EXIT_FAILURE, 'EIO', `${failures.length} of ${jobs.length} file(s) could not be read`);
      }
    });
}
