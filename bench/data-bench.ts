/**
 * Data-path benchmark (issue 3): ObjectFS's sequential, random and small-file I/O through the
 * vfs, side by side with the raw S3 ceiling (the SDK alone on the same server) and a local
 * directory (node:fs on the same disk), in one run on one machine.
 *
 *   node dist/bench/data-bench.js [--size-mib 1024] [--small-files 2000] [--random-reads 2000]
 *        [--small-concurrency 1,16] [--skip-compressible] [--rounds 3] [--seed S]
 *        [--s3-cpu-prof DIR] [--json-out FILE]
 *
 * It starts a private s3rver (data) and a private PostgreSQL (metadata, normal durability)
 * in a temp root and removes both on any exit. The page cache is dropped before every read
 * phase (root needed). Every phase runs once per round, on new files; the tables give the
 * median of the rounds. Prints the JSON document (commit, date, machine, config, results,
 * summary, ratios) on stdout, then the tables; progress goes to stderr. bench/README.md says
 * how to read it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_BLOCK_SIZE } from '../src/chunk/keys.js';
import { DEFAULT_DOWNLOAD_CONCURRENCY, DEFAULT_UPLOAD_CONCURRENCY } from '../src/chunk/index.js';
import { formatVolume } from '../src/volume/format-volume.js';
import { DEFAULT_BUFFER, DEFAULT_MEMORY_CACHE, type OpenVolumeOptions } from '../src/volume/open-volume.js';
import { createCleanedBed } from './support/bed.js';
import { localPhases, rawS3Phases } from './support/baseline-phases.js';
import { DataPattern, KiB, MiB } from './support/data-pattern.js';
import { phaseTable, ratios, ratioTable, summarize } from './support/data-report.js';
import { objectfsPhases } from './support/objectfs-phases.js';
import { CpuProbe } from './support/os-probes.js';
import { PhaseRunner } from './support/phase.js';
import { startPrivatePostgres } from './support/private-pg.js';
import { configFromArgs, packageVersion, positiveInt, UsageError } from './support/cli.js';
import { commitInfo, fsType, machineInfo, serverInfo, withClient } from './support/run-info.js';
import { S3RVER_CREDENTIALS, startBenchS3 } from './support/s3rver.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUCKET = 'objectfs-bench';
const VOLUME = 'bench';
const REQUEST_BYTES = 1 * MiB;
const RANDOM_READ_BYTES = 4 * KiB;
const SMALL_FILE_BYTES = 64 * KiB;

const USAGE = `usage: node dist/bench/data-bench.js [options]
  --size-mib N              size of the sequential file and of the raw S3 transfer (default 1024)
  --small-files N           files of 64 KiB written and read back (default 2000)
  --small-concurrency LIST  in-flight files of the small-file phases (default 1,16)
  --random-reads N          4 KiB random reads per random phase (default 2000)
  --skip-compressible       skip the compressible (text) write + cold read
  --rounds N                run every phase N times on new files; tables show medians (default 3)
  --seed S                  seed of the random offsets and the text data (default 1)
  --s3-cpu-prof DIR         also run s3rver under --cpu-prof, writing its profile to DIR
  --json-out FILE           also write the JSON document to FILE`;

interface Config {
  readonly sizeMiB: number;
  readonly smallFiles: number;
  readonly smallConcurrency: readonly number[];
  readonly randomReads: number;
  readonly compressible: boolean;
  readonly rounds: number;
  readonly seed: number;
  readonly s3CpuProf: string | undefined;
  readonly jsonOut: string | undefined;
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'size-mib': { type: 'string' }, 'small-files': { type: 'string' }, 'small-concurrency': { type: 'string' },
      'random-reads': { type: 'string' }, 'skip-compressible': { type: 'boolean' }, rounds: { type: 'string' }, seed: { type: 'string' },
      's3-cpu-prof': { type: 'string' }, 'json-out': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const sizeMiB = positiveInt('size-mib', values['size-mib'], 1024);
  if (sizeMiB % 4 !== 0) throw new UsageError('--size-mib must be a multiple of 4 (whole 4 MiB objects and blocks)');
  const smallConcurrency = (values['small-concurrency'] ?? '1,16').split(',').filter((s) => s.trim() !== '')
    .map((s) => positiveInt('small-concurrency', s.trim(), 1));
  return {
    sizeMiB,
    smallFiles: positiveInt('small-files', values['small-files'], 2000),
    smallConcurrency: [...new Set(smallConcurrency)],
    randomReads: positiveInt('random-reads', values['random-reads'], 2000),
    compressible: values['skip-compressible'] !== true,
    rounds: positiveInt('rounds', values.rounds, 3),
    seed: positiveInt('seed', values.seed, 1),
    s3CpuProf: values['s3-cpu-prof'] === undefined ? undefined : resolve(values['s3-cpu-prof']),
    jsonOut: values['json-out'],
  };
}

function note(msg: string): void {
  process.stderr.write(`[data-bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function main(): Promise<number> {
  const cfg = configFromArgs(parseConfig, USAGE);
  if (cfg === undefined) return 2;
  const bed = createCleanedBed('objectfs-data-bench-', note);
  // s3rver's fixed credentials, for ObjectFS's S3Store (it reads the standard AWS chain).
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: 'us-east-1',
  });
  delete process.env['AWS_SESSION_TOKEN'];
  delete process.env['AWS_PROFILE'];

  try {
    const started = new Date();
    const commit = commitInfo(ROOT);
    const machine = machineInfo();
    if (machine.loadAvg1mAtStart > 0.5) note(`load average is ${machine.loadAvg1mAtStart}: something else is running, the figures will be noisy`);

    note('starting s3rver and a private PostgreSQL');
    if (cfg.s3CpuProf !== undefined) mkdirSync(cfg.s3CpuProf, { recursive: true });
    const s3 = await startBenchS3(bed, BUCKET, cfg.s3CpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', cfg.s3CpuProf]);
    const pg = await startPrivatePostgres(bed);
    await withClient(pg.url, (c) => c.query('CREATE DATABASE objectfs_data_bench'));
    const metaUrl = pg.url.replace(/\/postgres$/, '/objectfs_data_bench');
    const pgInfo = await withClient(metaUrl, (c) => serverInfo((t) => c.query(t)));
    const storage = `s3://${BUCKET}/objectfs/?${new URLSearchParams({ endpoint: s3.endpoint, region: 'us-east-1', 'path-style': 'true' }).toString()}`;
    const format = { metaUrl, name: VOLUME, storage, blockSize: DEFAULT_BLOCK_SIZE, compression: 'lz4' } as const;
    await formatVolume(format);

    const volumeOptions: OpenVolumeOptions = {
      memoryCacheBytes: DEFAULT_MEMORY_CACHE,
      bufferBytes: DEFAULT_BUFFER,
      uploadConcurrency: DEFAULT_UPLOAD_CONCURRENCY,
      downloadConcurrency: DEFAULT_DOWNLOAD_CONCURRENCY,
      readaheadBytes: 32 * MiB,
      backgroundMs: 0,
    };
    const fileBytes = cfg.sizeMiB * MiB;
    note('generating the data pools');
    const random = DataPattern.create('random', cfg.seed);
    const text = cfg.compressible ? DataPattern.create('text', cfg.seed) : undefined;

    const runner = new PhaseRunner(new CpuProbe(s3.pid, pg.dataDir), note);
    const common = {
      fileBytes, requestBytes: REQUEST_BYTES, randomReads: cfg.randomReads, randomReadBytes: RANDOM_READ_BYTES,
      smallFiles: cfg.smallFiles, smallFileBytes: SMALL_FILE_BYTES, seed: cfg.seed,
    };
    for (let round = 1; round <= cfg.rounds; round++) {
      runner.round = round;
      note(`round ${round} of ${cfg.rounds}: raw S3, ${cfg.sizeMiB / 4} objects of 4 MiB, ${DEFAULT_UPLOAD_CONCURRENCY} in flight`);
      await rawS3Phases(runner, s3, random, {
        prefix: `raw/r${round}/`, objectBytes: DEFAULT_BLOCK_SIZE, objects: fileBytes / DEFAULT_BLOCK_SIZE, concurrency: DEFAULT_UPLOAD_CONCURRENCY,
      });
      note(`round ${round}: local directory`);
      const localDir = join(bed.root, 'local', `r${round}`);
      await localPhases(runner, random, { ...common, dir: localDir });
      await rm(localDir, { recursive: true, force: true });
      note(`round ${round}: ObjectFS through the vfs`);
      const cacheDir = join(bed.root, 'cache', `r${round}`);
      await objectfsPhases(runner, {
        ...common, metaUrl, volume: volumeOptions, cacheDir, blockSize: DEFAULT_BLOCK_SIZE,
        smallConcurrency: cfg.smallConcurrency, suffix: `-r${round}`,
      }, random, text, note);
      await rm(cacheDir, { recursive: true, force: true });
    }

    await s3.stop(); // writes s3rver's profile when --s3-cpu-prof is on
    const results = runner.results;
    const summary = summarize(results);
    const ratioList = ratios(results);
    const doc = {
      benchmark: 'objectfs-data',
      ...commit,
      date: started.toISOString(),
      durationSec: Math.round((Date.now() - started.getTime()) / 1000),
      machine: { ...machine, loadAvg1mAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
      config: {
        sizeMiB: cfg.sizeMiB,
        requestBytes: REQUEST_BYTES,
        randomReads: cfg.randomReads,
        randomReadBytes: RANDOM_READ_BYTES,
        smallFiles: cfg.smallFiles,
        smallFileBytes: SMALL_FILE_BYTES,
        smallConcurrency: cfg.smallConcurrency,
        compressible: cfg.compressible,
        rounds: cfg.rounds,
        seed: cfg.seed,
        pageCache: 'sync + drop_caches before every read phase (pageCacheDropped per phase)',
        rawS3: { objectBytes: DEFAULT_BLOCK_SIZE, concurrency: DEFAULT_UPLOAD_CONCURRENCY, client: 'same settings as S3Store: keep-alive, 64 sockets, maxAttempts 1, checksums WHEN_REQUIRED' },
        s3: { server: `s3rver ${packageVersion('s3rver')} (child process, 127.0.0.1)`, sdk: `@aws-sdk/client-s3 ${packageVersion('@aws-sdk/client-s3')}`, dataDirFs: fsType(s3.dataDir) },
        postgres: { version: pgInfo.version, settings: pgInfo.settings, dataDirFs: fsType(pg.dataDir) },
        localDirFs: fsType(bed.root),
        format: { ...format, metaUrl: 'private PostgreSQL started by the bench', storage: 's3rver started by the bench' },
        volumeOptions,
        uvThreadpoolSize: Number(process.env['UV_THREADPOOL_SIZE']) || 4,
      },
      summary,
      ratios: ratioList,
      results,
    };
    const json = JSON.stringify(doc, null, 2);
    if (cfg.jsonOut !== undefined) {
      mkdirSync(dirname(resolve(cfg.jsonOut)), { recursive: true });
      writeFileSync(cfg.jsonOut, `${json}\n`);
    }
    process.stdout.write(`${json}\n\n${phaseTable(summary)}\n\n${ratioTable(ratioList)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`[data-bench] FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  } finally {
    for (const w of bed.finish()) note(`cleanup: ${w}`);
  }
}

process.exitCode = await main();
