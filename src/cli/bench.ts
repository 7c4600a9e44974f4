/**
 * `objectfs bench PATH`: a quick benchmark of the file system holding PATH (meant for an
 * ObjectFS mount; any directory works, for comparison). In a fresh directory under PATH, each
 * of `--threads` workers writes one big file and reads it back, then writes, reads and stats
 * many small files; everything is removed afterwards. Data is random, so compression cannot
 * flatter the figures. Reads go through the mount (the kernel drops its page cache of a FUSE
 * file at open), usually served from the mount's block cache filled while writing.
 */
import { randomFillSync } from 'node:crypto';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import { availableParallelism, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { formatBytes } from '../util/bytes.js';
import { byteSizeOption, positiveIntOption, wholeNumberOption } from './options.js';
import type { Output } from './output.js';

const IO_SIZE = 1 << 20;

interface BenchFlags {
  bigSize: number;
  smallCount: number;
  smallSize: number;
  threads: number;
  json?: boolean;
}

export interface BenchRow {
  readonly item: string;
  /** Bytes per second (big file) or files per second. */
  readonly rate: number;
  readonly unit: 'bytes/s' | 'files/s';
  /** Seconds per file, per worker. */
  readonly secondsPerFile: number;
}

async function writeFile(path: string, size: number, fsync: boolean): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const buf = Buffer.allocUnsafe(Math.min(IO_SIZE, Math.max(1, size)));
    for (let done = 0; done < size;) {
      const n = Math.min(buf.length, size - done);
      randomFillSync(buf, 0, n);
      await fh.write(buf, 0, n, done);
      done += n;
    }
    if (fsync) await fh.sync();
  } finally {
    await fh.close();
  }
}

async function readFile(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(IO_SIZE);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, IO_SIZE, null);
      if (bytesRead === 0) return total;
      total += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/** Runs `work(worker)` on every worker at once; returns the wall time in seconds. */
async function timed(threads: number, work: (worker: number) => Promise<void>): Promise<number> {
  const start = performance.now();
  await Promise.all(Array.from({ length: threads }, (_v, i) => work(i)));
  return (performance.now() - start) / 1000;
}

export async function runBench(dir: string, f: BenchFlags): Promise<BenchRow[]> {
  const workerDir = (w: number) => join(dir, `worker-${w}`);
  await Promise.all(Array.from({ length: f.threads }, (_v, w) => mkdir(workerDir(w), { recursive: true })));
  const rows: BenchRow[] = [];
  const add = (item: string, seconds: number, files: number, bytes?: number) => {
    rows.push(bytes === undefined
      ? { item, rate: files / seconds, unit: 'files/s', secondsPerFile: (seconds * f.threads) / files }
      : { item, rate: bytes / seconds, unit: 'bytes/s', secondsPerFile: (seconds * f.threads) / files });
  };
  if (f.bigSize > 0) {
    add('write big file', await timed(f.threads, (w) => writeFile(join(workerDir(w), 'big'), f.bigSize, true)), f.threads, f.bigSize * f.threads);
    add('read big file', await timed(f.threads, async (w) => { await readFile(join(workerDir(w), 'big')); }), f.threads, f.bigSize * f.threads);
  }
  if (f.smallCount > 0) {
    const files = f.smallCount * f.threads;
    const each = async (w: number, fn: (path: string) => Promise<unknown>) => {
      for (let i = 0; i < f.smallCount; i++) await fn(join(workerDir(w), `small-${i}`));
    };
    add('write small files', await timed(f.threads, (w) => each(w, (p) => writeFile(p, f.smallSize, false))), files);
    add('read small files', await timed(f.threads, (w) => each(w, readFile)), files);
    add('stat files', await timed(f.threads, (w) => each(w, stat)), files);
  }
  return rows;
}

function formatRate(r: BenchRow): string {
  return r.unit === 'bytes/s' ? `${formatBytes(Math.round(r.rate))}/s` : `${r.rate.toFixed(1)} files/s`;
}

function formatCost(seconds: number): string {
  return seconds >= 1 ? `${seconds.toFixed(2)} s/file` : `${(seconds * 1000).toFixed(2)} ms/file`;
}

export function registerBench(program: Command, out: Output): void {
  program.command('bench')
    .description('quick benchmark of the file system holding PATH: big file write/read, small files write/read/stat')
    .argument('<PATH>', 'a directory inside the mount (a temporary directory is made and removed in it)')
    // Defaults are shown as people write sizes (256M), not as byte counts.
    .addOption(new Option('--big-size <SIZE>', 'size of the big file, per worker (0 skips)').argParser(byteSizeOption).default(256 << 20, '256M'))
    .option('--small-count <N>', 'small files per worker (0 skips)', wholeNumberOption, 100)
    .addOption(new Option('--small-size <SIZE>', 'size of each small file').argParser(byteSizeOption).default(128 << 10, '128K'))
    .option('-p, --threads <N>', 'workers running at once', positiveIntOption, 1)
    .option('--json', 'print JSON (settings, machine, results)')
    .action(async (path: string, flags: BenchFlags) => {
      const threads = Math.max(1, flags.threads);
      const dir = join(resolve(path), `.objectfs-bench-${process.pid}-${Date.now().toString(36)}`);
      let rows: BenchRow[];
      try {
        rows = await runBench(dir, { ...flags, threads });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
      if (flags.json) {
        out.json({
          path: resolve(path), host: hostname(), cpus: availableParallelism(), node: process.version, time: new Date().toISOString(),
          settings: { bigSize: flags.bigSize, smallCount: flags.smallCount, smallSize: flags.smallSize, threads }, results: rows,
        });
        return;
      }
      out.line(`bench of ${resolve(path)}: big file ${formatBytes(flags.bigSize)}, ${flags.smallCount} small files of ${formatBytes(flags.smallSize)}, ${threads} worker(s)`);
      const table = [['ITEM', 'VALUE', 'COST'], ...rows.map((r) => [r.item, formatRate(r), formatCost(r.secondsPerFile)])];
      const widths = [0, 1, 2].map((c) => Math.max(...table.map((t) => (t[c] ?? '').length)));
      for (const t of table) out.line(`  ${t.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()}`);
    });
}
