/**
 * Quota accounting overhead (issue 13): creates, sequential writes and small files through the
 * vfs, with quotas off and on (a volume capacity and inode quota plus two nested directory
 * quotas above the files), on PostgreSQL and PGlite. Reports database round trips per
 * operation (the goal: none added on the hot path) and operations per second.
 *
 *   node dist/bench/quota-bench.js [--engines postgres,pglite] [--pg-url URL] [--ops N] [--json-out FILE]
 *
 * Without --pg-url it starts a private PostgreSQL and removes it on any exit. Data goes to a
 * file store in the bench's temp root. Round trips are counted as in meta-bench (every
 * pg.Client#query); background jobs are off but usage folds run once a second as on a mount,
 * so what is counted is the operations' own work plus the once-a-second folds and quota
 * snapshots (part of the cost of quotas).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { configureVolume, formatMeta, ROOT_INO, type FormatSettings } from '../src/meta/index.js';
import { openVolume, type Volume } from '../src/volume/open-volume.js';
import { createCleanedBed } from './support/bed.js';
import { configFromArgs, positiveInt, UsageError } from './support/cli.js';
import { startPrivatePostgres } from './support/private-pg.js';
import { installRoundTripCounter, roundTrips } from './support/round-trips.js';
import { withClient } from './support/run-info.js';
import { DEFAULT_TRASH_DAYS } from '../src/volume/format-volume.js';

const ENGINES = ['postgres', 'pglite'] as const;
type EngineKind = (typeof ENGINES)[number];
const MODES = ['off', 'on'] as const;
type Mode = (typeof MODES)[number];
const CALLER = Object.freeze({ uid: 0, gid: 0 });
const WRITE_SIZE = 4096;

const USAGE = `usage: node dist/bench/quota-bench.js [options]
  --engines LIST   postgres,pglite (default both)
  --pg-url URL     use this PostgreSQL server (a fresh database per run is created and dropped)
  --ops N          operations per phase and mode (default 2000)
  --json-out FILE  also write the JSON document to FILE`;

interface Config {
  readonly engines: readonly EngineKind[];
  readonly pgUrl: string | undefined;
  readonly ops: number;
  readonly jsonOut: string | undefined;
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({ args: argv, strict: true, options: { engines: { type: 'string' }, 'pg-url': { type: 'string' }, ops: { type: 'string' }, 'json-out': { type: 'string' } } });
  const engines = (values.engines ?? ENGINES.join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const e of engines) if (!ENGINES.includes(e as EngineKind)) throw new UsageError(`unknown engine "${e}" (expected ${ENGINES.join(', ')})`);
  return { engines: engines as EngineKind[], pgUrl: values['pg-url'], ops: positiveInt('ops', values.ops, 2000), jsonOut: values['json-out'] };
}

interface PhaseResult {
  readonly engine: EngineKind;
  readonly mode: Mode;
  readonly phase: 'create' | 'write 4 KiB' | 'small file';
  readonly ops: number;
  readonly roundTripsPerOp: number;
  readonly opsPerSec: number;
}

function note(msg: string): void {
  process.stderr.write(`[quota-bench] ${msg}\n`);
}

async function timed(ops: number, fn: (i: number) => Promise<void>): Promise<{ roundTripsPerOp: number; opsPerSec: number }> {
  const rt0 = roundTrips();
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) await fn(i);
  const ms = performance.now() - t0;
  return { roundTripsPerOp: Math.round(((roundTrips() - rt0) / ops) * 100) / 100, opsPerSec: Math.round(ops / (ms / 1000)) };
}

async function phases(engine: EngineKind, mode: Mode, v: Volume, dir: number, ops: number): Promise<PhaseResult[]> {
  const out: PhaseResult[] = [];
  const creates = await v.vfs.mkdir(CALLER, dir, Buffer.from('creates'), 0o755);
  out.push({ engine, mode, phase: 'create', ops, ...await timed(ops, async (i) => {
    const { fh } = await v.vfs.create(CALLER, creates.ino, Buffer.from(`f${i}`), 0o644, constants.O_RDWR);
    await v.vfs.release(fh);
  }) });
  const { fh } = await v.vfs.create(CALLER, dir, Buffer.from('stream'), 0o644, constants.O_RDWR);
  const data = randomBytes(WRITE_SIZE);
  const writes = await timed(ops, async (i) => { await v.vfs.write(fh, i * WRITE_SIZE, data); });
  await v.vfs.release(fh);
  out.push({ engine, mode, phase: 'write 4 KiB', ops, ...writes });
  const small = await v.vfs.mkdir(CALLER, dir, Buffer.from('small'), 0o755);
  out.push({ engine, mode, phase: 'small file', ops, ...await timed(ops, async (i) => {
    const h = await v.vfs.create(CALLER, small.ino, Buffer.from(`s${i}`), 0o644, constants.O_RDWR);
    await v.vfs.write(h.fh, 0, data);
    await v.vfs.release(h.fh);
  }) });
  return out;
}

async function main(): Promise<number> {
  const cfg = configFromArgs(parseConfig, USAGE);
  if (cfg === undefined) return 2;
  installRoundTripCounter();
  const bed = createCleanedBed('objectfs-quota-bench-', note);
  try {
    let pgBase = cfg.pgUrl;
    const results: PhaseResult[] = [];
    for (const engine of cfg.engines) {
      for (const mode of MODES) {
        let url: string;
        let drop = async (): Promise<void> => undefined;
        if (engine === 'postgres') {
          pgBase ??= (await startPrivatePostgres(bed)).url;
          const base = pgBase;
          const name = `objectfs_qbench_${randomBytes(4).toString('hex')}`;
          await withClient(base, (c) => c.query(`CREATE DATABASE "${name}"`));
          drop = () => withClient(base, async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)));
          const u = new URL(base);
          u.pathname = `/${name}`;
          url = u.toString();
        } else {
          url = `pglite://${join(bed.root, `pglite-${mode}`)}`;
        }
        const blocks = join(bed.root, `blocks-${engine}-${mode}`);
        mkdirSync(blocks, { recursive: true });
        const format: FormatSettings = { name: 'qbench', storage: `file://${blocks}`, blockSize: 4 << 20, compression: 'lz4', trashDays: DEFAULT_TRASH_DAYS };
        await formatMeta(url, format);
        if (mode === 'on') await configureVolume(url, { capacity: 2 ** 45, inodes: 1e9 });
        // Usage folds run as on a mount (once a second): they keep the journals the quota checks sum short.
        const v = await openVolume(url, { backgroundMs: 0, autoCompact: false });
        try {
          const outer = await v.vfs.mkdir(CALLER, ROOT_INO, Buffer.from('outer'), 0o755);
          const inner = await v.vfs.mkdir(CALLER, outer.ino, Buffer.from('inner'), 0o755);
          if (mode === 'on') {
            await v.meta.setQuota(outer.ino, { maxSpace: 2 ** 44, maxInodes: 1e8 });
            await v.meta.setQuota(inner.ino, { maxSpace: 2 ** 43, maxInodes: 1e7 });
          }
          note(`${engine}, quotas ${mode}: ${cfg.ops} ops per phase`);
          results.push(...await phases(engine, mode, v, inner.ino, cfg.ops));
        } finally {
          await v.close();
          await drop();
        }
      }
    }
    const doc = { benchmark: 'objectfs-quota', date: new Date().toISOString(), config: cfg, results };
    const json = JSON.stringify(doc, null, 2);
    if (cfg.jsonOut !== undefined) {
      mkdirSync(dirname(resolve(cfg.jsonOut)), { recursive: true });
      writeFileSync(cfg.jsonOut, `${json}\n`);
    }
    process.stdout.write(`${json}\n\n| engine | phase | round trips/op off | on | ops/s off | on |\n|---|---|---|---|---|---|\n`);
    for (const r of results.filter((x) => x.mode === 'off')) {
      const on = results.find((x) => x.mode === 'on' && x.engine === r.engine && x.phase === r.phase);
      process.stdout.write(`| ${r.engine} | ${r.phase} | ${r.roundTripsPerOp} | ${on?.roundTripsPerOp ?? '-'} | ${r.opsPerSec} | ${on?.opsPerSec ?? '-'} |\n`);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`[quota-bench] FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    for (const w of bed.finish()) note(`cleanup: ${w}`);
  }
}

process.exitCode = await main();
