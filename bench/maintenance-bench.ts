/**
 * fsck and gc at scale (issue 6): builds a volume of many files in bulk (test/support/
 * bulk-volume.ts) on a private PostgreSQL (normal durability) and a private s3rver, then times
 * `objectfs fsck`, `fsck --verify`, `gc` and `gc --delete` (after adding stray objects) as
 * child processes, each reporting its own peak RSS.
 *
 *   node dist/bench/maintenance-bench.js [--files N] [--dirs D] [--slices S] [--data-every K]
 *        [--strays X] [--json-out FILE]
 *
 * Prints the JSON document (commit, date, machine, config, results) on stdout, then a table;
 * progress goes to stderr.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { blockKey } from '../src/chunk/keys.js';
import { formatVolume } from '../src/volume/format-volume.js';
import { openVolumeStore } from '../src/volume/volume-store.js';
import { fillBulkVolume, type BulkSpec } from '../test/support/bulk-volume.js';
import { createCleanedBed } from './support/bed.js';
import { startPrivatePostgres } from './support/private-pg.js';
import { commitInfo, machineInfo, serverInfo, withClient } from './support/run-info.js';
import { S3RVER_CREDENTIALS, startBenchS3 } from './support/s3rver.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
const BUCKET = 'maintenance-bench';
const VOLUME = 'bench';
const BLOCK = 1 << 20;

const USAGE = `usage: node dist/bench/maintenance-bench.js [options]
  --files N        files (default 1000000)
  --dirs D         directories they are spread over (default 1000)
  --slices S       distinct block objects (default 20000)
  --data-every K   one file in K holds a 4 KiB slice, the others are empty (default 10)
  --strays X       stray objects added before gc --delete (default 1000)
  --json-out FILE  also write the JSON document to FILE`;

interface Run {
  readonly command: string;
  readonly wallMs: number;
  readonly reportedMs: number;
  readonly peakRssMiB: number;
  readonly exitCode: number | null;
  readonly summary: string;
}

function note(msg: string): void {
  process.stderr.write(`[maintenance-bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** Runs `objectfs <args> --json` (its plain progress lines go to our stderr) and reads its report. */
function runTool(args: readonly string[]): Promise<{ code: number | null; wallMs: number; report: Record<string, unknown> }> {
  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolvePromise({ code, wallMs: Date.now() - started, report: JSON.parse(out) as Record<string, unknown> });
      } catch (e) {
        reject(new Error(`objectfs ${args.join(' ')} printed no JSON (exit ${code}): ${(e as Error).message}`));
      }
    });
  });
}

function summarizeReport(report: Record<string, unknown>): string {
  if ('counts' in report) {
    const c = report['counts'] as Record<string, number>;
    return `${c['inodes']} inodes, ${c['edges']} entries, ${c['chunks']} chunks, ${c['slices']} slices, ${c['verified']} verified; ${report['problemCount']} problems`;
  }
  const o = report['objects'] as Record<string, { count: number }>;
  const d = report['deleted'] as { leaked: { count: number } } | undefined;
  return `valid ${o['valid']?.count}, leaked ${o['leaked']?.count}, skipped ${o['skipped']?.count}${d === undefined ? '' : `; deleted ${d.leaked.count}`}`;
}

async function main(): Promise<number> {
  let spec: BulkSpec & { strays: number; jsonOut?: string };
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: {
        files: { type: 'string', default: '1000000' }, dirs: { type: 'string', default: '1000' }, slices: { type: 'string', default: '20000' },
        'data-every': { type: 'string', default: '10' }, strays: { type: 'string', default: '1000' }, 'json-out': { type: 'string' },
      },
    });
    const n = (v: string | undefined, name: string): number => {
      const x = Number(v);
      if (!Number.isSafeInteger(x) || x < 1) throw new Error(`--${name} must be a whole number ≥ 1`);
      return x;
    };
    spec = {
      files: n(values.files, 'files'), dirs: n(values.dirs, 'dirs'), slices: n(values.slices, 'slices'), sliceBytes: 4096,
      dataEvery: n(values['data-every'], 'data-every'), strays: n(values.strays, 'strays'), jsonOut: values['json-out'],
    };
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const bed = createCleanedBed('objectfs-maintenance-bench-', note);
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  });
  delete process.env['AWS_SESSION_TOKEN'];
  delete process.env['AWS_PROFILE'];
  try {
    const started = new Date();
    const machine = machineInfo();
    note('starting s3rver and a private PostgreSQL');
    const s3 = await startBenchS3(bed, BUCKET);
    const pg = await startPrivatePostgres(bed);
    await withClient(pg.url, (c) => c.query('CREATE DATABASE objectfs_maintenance_bench'));
    const metaUrl = pg.url.replace(/\/postgres$/, '/objectfs_maintenance_bench');
    const pgInfo = await withClient(metaUrl, (c) => serverInfo((t) => c.query(t)));
    const storage = `s3://${BUCKET}/objectfs/?${new URLSearchParams({ endpoint: s3.endpoint, region: 'us-east-1', 'path-style': 'true' }).toString()}`;
    await formatVolume({ metaUrl, name: VOLUME, storage, blockSize: BLOCK, compression: 'lz4' });
    const { base, store } = await openVolumeStore(storage, VOLUME);
    note(`building ${spec.files} files in ${spec.dirs} directories, ${spec.slices} objects`);
    const buildStart = Date.now();
    const { inodes } = await fillBulkVolume(metaUrl, store, spec);
    const buildMs = Date.now() - buildStart;

    const runs: Run[] = [];
    const time = async (label: string, args: readonly string[]): Promise<void> => {
      note(`objectfs ${label}`);
      const r = await runTool(args);
      runs.push({
        command: label, wallMs: r.wallMs, reportedMs: Number(r.report['elapsedMs']), exitCode: r.code,
        peakRssMiB: Math.round(Number(r.report['peakRssBytes']) / 2 ** 20), summary: summarizeReport(r.report),
      });
    };
    await time('fsck', ['fsck', metaUrl]);
    await time('fsck --verify', ['fsck', metaUrl, '--verify', '--threads', '16']);
    await time('gc', ['gc', metaUrl]);
    note(`adding ${spec.strays} stray objects`);
    for (let i = 0; i < spec.strays; i += 32) {
      await Promise.all(Array.from({ length: Math.min(32, spec.strays - i) }, (_, j) => store.put(blockKey(900_000_000 + i + j, 0, 4096), randomBytes(100))));
    }
    await sleep(2500);
    await time('gc --delete --window 1', ['gc', metaUrl, '--delete', '--window', '1', '--threads', '16']);
    await base.close();
    await s3.stop();

    const doc = {
      benchmark: 'objectfs-maintenance', ...commitInfo(ROOT), date: started.toISOString(),
      durationSec: Math.round((Date.now() - started.getTime()) / 1000),
      machine: { ...machine, loadAvg1mAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
      config: { ...spec, inodes, blockSize: BLOCK, postgres: { version: pgInfo.version, settings: pgInfo.settings }, s3: 's3rver (child process, 127.0.0.1)' },
      buildMs,
      runs,
    };
    const json = JSON.stringify(doc, null, 2);
    if (spec.jsonOut !== undefined) {
      mkdirSync(dirname(resolve(spec.jsonOut)), { recursive: true });
      writeFileSync(spec.jsonOut, `${json}\n`);
    }
    const rows = runs.map((r) => `| ${r.command} | ${(r.wallMs / 1000).toFixed(1)} | ${(r.reportedMs / 1000).toFixed(1)} | ${r.peakRssMiB} | ${r.exitCode} | ${r.summary} |`);
    process.stdout.write(`${json}\n\n| command | wall s | reported s | peak RSS MiB | exit | result |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`[maintenance-bench] FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    for (const w of bed.finish()) note(`cleanup: ${w}`);
  }
}

process.exitCode = await main();
