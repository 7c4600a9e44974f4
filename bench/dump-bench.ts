/**
 * `objectfs dump` and `objectfs load` at scale (issue 13): for each size, builds a volume of N
 * files in bulk (test/support/bulk-volume.ts: set-based SQL, one directory per 1,000 files, one
 * file in ten holding a small slice) on a private PostgreSQL (normal durability), then runs
 * `objectfs dump` to a file and `objectfs load` of that file into a new database as child
 * processes, each reporting its own peak RSS; rates are entries (directory entries) per second
 * of wall time.
 *
 *   node dist/bench/dump-bench.js [--sizes 100000,1000000] [--json-out FILE]
 *
 * Prints the JSON document (commit, date, machine, config, results) on stdout, then a table;
 * progress goes to stderr.
 */
import { spawn } from 'node:child_process';
import { statSync, mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatVolume } from '../src/volume/format-volume.js';
import { openVolumeStore } from '../src/volume/volume-store.js';
import { fillBulkVolume } from '../test/support/bulk-volume.js';
import { createCleanedBed } from './support/bed.js';
import { startPrivatePostgres } from './support/private-pg.js';
import { commitInfo, machineInfo, serverInfo, withClient } from './support/run-info.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');

const USAGE = `usage: node dist/bench/dump-bench.js [options]
  --sizes LIST     files per volume, comma-separated (default 100000,1000000)
  --json-out FILE  also write the JSON document to FILE`;

interface Step {
  readonly wallMs: number;
  readonly peakRssMiB: number;
  readonly entriesPerSec: number;
}

interface SizeResult {
  readonly files: number;
  readonly entries: number;
  readonly rows: number;
  readonly buildMs: number;
  readonly dumpBytes: number;
  readonly dump: Step;
  readonly load: Step;
}

function note(msg: string): void {
  process.stderr.write(`[dump-bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Runs `objectfs <args> --json`; the summary is the last JSON document it prints on `stream`. */
function runTool(args: readonly string[], stream: 'stdout' | 'stderr'): Promise<{ wallMs: number; report: Record<string, unknown> }> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child[stream].on('data', (d: Buffer) => { out += d.toString(); });
    if (stream === 'stdout') child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`objectfs ${args.join(' ')} exited ${code}: ${out}`));
      try {
        resolvePromise({ wallMs: Date.now() - started, report: JSON.parse(out) as Record<string, unknown> });
      } catch (e) {
        reject(new Error(`objectfs ${args.join(' ')} printed no JSON: ${(e as Error).message}`));
      }
    });
  });
}

const step = (wallMs: number, report: Record<string, unknown>, entries: number): Step => ({
  wallMs, peakRssMiB: Math.round(Number(report['peakRssBytes']) / 2 ** 20), entriesPerSec: Math.round(entries / (wallMs / 1000)),
});

async function main(): Promise<number> {
  let sizes: number[];
  let jsonOut: string | undefined;
  try {
    const { values } = parseArgs({ args: process.argv.slice(2), options: { sizes: { type: 'string', default: '100000,1000000' }, 'json-out': { type: 'string' } } });
    sizes = (values.sizes ?? '').split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isSafeInteger(n) || n < 1000) throw new Error(`--sizes: "${s}" is not a whole number ≥ 1000`);
      return n;
    });
    jsonOut = values['json-out'];
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const bed = createCleanedBed('objectfs-dump-bench-', note);
  try {
    const started = new Date();
    const machine = machineInfo();
    note('starting a private PostgreSQL');
    const pg = await startPrivatePostgres(bed);
    const pgInfo = await withClient(pg.url, (c) => serverInfo((t) => c.query(t)));
    const results: SizeResult[] = [];
    for (const files of sizes) {
      const source = `objectfs_dump_bench_${files}`;
      const target = `objectfs_load_bench_${files}`;
      await withClient(pg.url, async (c) => { await c.query(`CREATE DATABASE ${source}`); await c.query(`CREATE DATABASE ${target}`); });
      const sourceUrl = pg.url.replace(/\/postgres$/, `/${source}`);
      const targetUrl = pg.url.replace(/\/postgres$/, `/${target}`);
      // Data never leaves the directory store: the bench measures metadata only.
      const storage = `file://${join(bed.root, `blocks-${files}`)}`;
      await formatVolume({ metaUrl: sourceUrl, name: 'bench', storage, blockSize: 1 << 20, compression: 'lz4' });
      const { base, store } = await openVolumeStore(storage, 'bench');
      note(`building ${files} files`);
      const buildStart = Date.now();
      await fillBulkVolume(sourceUrl, store, { files, dirs: Math.max(1, Math.round(files / 1000)), slices: 100, sliceBytes: 4096, dataEvery: 10 });
      const buildMs = Date.now() - buildStart;
      await base.close();
      await withClient(sourceUrl, (c) => c.query('VACUUM ANALYZE'));
      const file = join(bed.root, `dump-${files}.jsonl`);
      note(`objectfs dump (${files} files)`);
      const d = await runTool(['dump', sourceUrl, file], 'stdout');
      const entries = Number(d.report['entries']);
      const rows = Object.values(d.report['rows'] as Record<string, number>).reduce((a, b) => a + b, 0);
      note(`objectfs load (${files} files)`);
      const l = await runTool(['load', targetUrl, file], 'stdout');
      results.push({ files, entries, rows, buildMs, dumpBytes: statSync(file).size, dump: step(d.wallMs, d.report, entries), load: step(l.wallMs, l.report, entries) });
      for (const db of [source, target]) await withClient(pg.url, (c) => c.query(`DROP DATABASE ${db}`));
    }
    const doc = {
      benchmark: 'objectfs-dump', ...commitInfo(ROOT), date: started.toISOString(),
      durationSec: Math.round((Date.now() - started.getTime()) / 1000),
      machine: { ...machine, loadAvg1mAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
      config: { sizes, postgres: { version: pgInfo.version, settings: pgInfo.settings } },
      results,
    };
    const json = JSON.stringify(doc, null, 2);
    if (jsonOut !== undefined) {
      mkdirSync(dirname(resolve(jsonOut)), { recursive: true });
      writeFileSync(jsonOut, `${json}\n`);
    }
    const table = results.map((r) => `| ${r.files} | ${r.entries} | ${r.rows} | ${(r.dumpBytes / 2 ** 20).toFixed(1)} | ${(r.dump.wallMs / 1000).toFixed(1)} | ${r.dump.entriesPerSec} | ${r.dump.peakRssMiB} | ${(r.load.wallMs / 1000).toFixed(1)} | ${r.load.entriesPerSec} | ${r.load.peakRssMiB} |`);
    process.stdout.write(`${json}\n\n| files | entries | rows | dump MiB | dump s | dump entries/s | dump peak RSS MiB | load s | load entries/s | load peak RSS MiB |\n|---|---|---|---|---|---|---|---|---|---|\n${table.join('\n')}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`[dump-bench] FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    for (const w of bed.finish()) note(`cleanup: ${w}`);
  }
}

process.exitCode = await main();
