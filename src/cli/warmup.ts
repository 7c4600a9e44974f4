/**
 * `objectfs warmup PATH…`: fills the mount's caches with the blocks of files (directories are
 * walked) by reading them through the mount, so the daemon itself fetches and caches every
 * block in memory and on disk, exactly as a later reader would find them. Concurrent over
 * files; a progress bar on a terminal (--no-progress: none), a summary or --json at the end.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { EXIT_FAILURE } from './errors.js';
import { findMount } from './mount-record.js';
import { formatBytes } from '../util/bytes.js';
import { positiveIntOption } from './options.js';
import type { Output } from './output.js';
import { streamProgress } from './progress.js';
import type { ProgressPhase } from '../maintenance/index.js';

/** A progress phase that shows nothing (--no-progress). */
const NO_PROGRESS: ProgressPhase = { add: () => undefined, end: () => undefined };

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
    .option('-p, --threads <N>', 'files read at once', positiveIntOption, 4)
    .option('--json', 'print the result as JSON (files, bytes, failures)')
    .option('--no-progress', 'no progress output on stderr')
    .action(async (paths: string[], flags: { threads: number; json?: boolean; progress: boolean }) => {
      const started = Date.now();
      const jobs: FileJob[] = [];
      for (const path of paths) {
        findMount(path); // refuses paths outside a mount
        await collect(path, jobs);
      }
      const shown = flags.progress ? streamProgress('warmup').phase('files', jobs.length) : NO_PROGRESS;
      let bytes = 0;
      let files = 0;
      const bar: ProgressPhase = {
        add: (n, b = 0) => { files += n; bytes += b; shown.add(n, b); },
        end: () => shown.end(),
      };
      const failures: string[] = [];
      let next = 0;
      const worker = async () => {
        for (let job = jobs[next++]; job !== undefined; job = jobs[next++]) {
          await readWhole(job, bar).catch((err: NodeJS.ErrnoException) => { failures.push(`${job.path}: ${err.code ?? err.message}`); });
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, flags.threads) }, worker));
      bar.end();
      const elapsedMs = Date.now() - started;
      if (flags.json) out.json({ files: jobs.length, warmed: files, bytes, failed: failures, elapsedMs });
      else if (failures.length === 0) out.line(`warmed ${files} file(s), ${formatBytes(bytes)} in ${(elapsedMs / 1000).toFixed(1)} s`);
      if (failures.length > 0) {
        if (!flags.json) for (const f of failures.slice(0, 20)) out.error(`objectfs: cannot read ${f}`);
        throw new CliError(EXIT_FAILURE, 'EIO', `${failures.length} of ${jobs.length} file(s) could not be read`);
      }
    });
}
