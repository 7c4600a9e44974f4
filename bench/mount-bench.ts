/**
 * Mount benchmark (issue 4): ObjectFS through its FUSE mount, side by side with s3fs,
 * `rclone mount` and a local directory, in one run against one private s3rver, measured with
 * ordinary syscalls (node:fs, one call in flight).
 *
 *   node dist/bench/mount-bench.js [--size-mib 1024] [--files 10000] [--small-files 2000]
 *        [--random-reads 2000] [--only objectfs,s3fs,rclone,local] [--phase-timeout 300]
 *        [--attr-timeout S] [--rclone-cache-mode writes] [--rclone-write-back 0s] [--seed S]
 *        [--objectfs-cpu-prof DIR] [--json-out FILE]
 *
 * It starts s3rver and (for ObjectFS) a private PostgreSQL in a temp root, formats the ObjectFS
 * volume with the CLI, mounts every filesystem under the temp root, runs the phases, and
 * unmounts and removes everything on any exit (Ctrl-C included). Root is needed: FUSE mounts
 * and dropping the page cache before every cold read. Prints the JSON document on stdout, then
 * the tables; progress goes to stderr. bench/README.md says how to read it.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { createBed } from './support/bed.js';
import { DataPattern, KiB, MiB } from './support/data-pattern.js';
import {
  META_DIR, metaCreate, metaDelete, metaList, metaRename, metaStat, metaStatListed, MetaState, listBeforeStat, MountRunner, randRead, SEQ_FILE, seqRead, seqWrite,
  SMALL_DIR, smallRead, smallReadListed, smallWrite, type DataConfig, type MeasureId, type MountResult, type PhaseOutcome,
} from './support/mount-workload.js';
import { cpuTable, markdownTable, tableRows } from './support/mount-report.js';
import { FS_NAMES, isObjectFsColumn, killAllDaemons, local, objectfs, rclone, s3fs, s3fsOptions, toolVersion, type BenchFs, type FsName, type StoredExpectation } from './support/mounts.js';
import { CpuProbe } from './support/os-probes.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-pg.js';
import { configFromArgs, packageVersion, UsageError } from './support/cli.js';
import { commitInfo, fsType, machineInfo, serverInfo, withClient } from './support/run-info.js';
import { S3RVER_CREDENTIALS, startBenchS3 } from './support/s3rver.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'dist', 'src', 'cli', 'bin.js');
const BUCKET = 'objectfs-bench';
const VOLUME = 'bench';
const REQUEST_BYTES = 1 * MiB;
const RANDOM_READ_BYTES = 4 * KiB;
const SMALL_FILE_BYTES = 64 * KiB;
const execFileP = promisify(execFile);

const USAGE = `usage: node dist/bench/mount-bench.js [options]
  --size-mib N              size of the sequential file (default 1024)
  --files N                 empty files of the metadata workload (default 10000)
  --small-files N           files of 64 KiB written and read back (default 2000)
  --random-reads N          4 KiB random reads (default 2000)
  --only LIST               filesystems, in this order (default objectfs,s3fs,rclone,local;
                            objectfs-writeback: ObjectFS with --writeback, an extra column;
                            objectfs-prefetch-dir: ObjectFS with --prefetch-dir, another)
  --phase-timeout S         cap of every phase per filesystem, seconds (default 300)
  --attr-timeout S          ObjectFS --attr-timeout (default: not passed, the product's default)
  --rclone-cache-mode M     rclone --vfs-cache-mode (default writes)
  --rclone-write-back D     rclone --vfs-write-back (default 0s)
  --seed S                  seed of the random offsets (default 1)
  --objectfs-cpu-prof DIR   run the ObjectFS daemon under node --cpu-prof, profiles in DIR
  --objectfs-probe          preload a counter of FUSE ops and database round trips into the
                            ObjectFS daemon (diagnostic: results[].details.daemon)
  --json-out FILE           also write the JSON document to FILE`;

interface Config {
  readonly sizeMiB: number;
  readonly files: number;
  readonly smallFiles: number;
  readonly randomReads: number;
  readonly only: readonly FsName[];
  readonly capSec: number;
  /** ObjectFS --attr-timeout; undefined: the product's default (not passed). */
  readonly attrTimeout: number | undefined;
  readonly rcloneCacheMode: string;
  readonly rcloneWriteBack: string;
  readonly seed: number;
  readonly cpuProf: string | undefined;
  readonly probe: boolean;
  readonly jsonOut: string | undefined;
}

function positive(flag: string, v: string | undefined, dflt: number, integer = true): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || (integer && (!Number.isSafeInteger(x) || x < 1))) throw new UsageError(`--${flag}: invalid value "${v}"`);
  return x;
}

function parseConfig(argv: string[]): Config {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      'size-mib': { type: 'string' }, files: { type: 'string' }, 'small-files': { type: 'string' }, 'random-reads': { type: 'string' },
      only: { type: 'string' }, 'phase-timeout': { type: 'string' }, 'attr-timeout': { type: 'string' },
      'rclone-cache-mode': { type: 'string' }, 'rclone-write-back': { type: 'string' }, seed: { type: 'string' },
      'objectfs-cpu-prof': { type: 'string' }, 'objectfs-probe': { type: 'boolean' }, 'json-out': { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const only = (values.only ?? FS_NAMES.filter((n) => !isObjectFsColumn(n) || n === 'objectfs').join(',')).split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const fs of only) if (!(FS_NAMES as readonly string[]).includes(fs)) throw new UsageError(`--only: unknown filesystem "${fs}" (${FS_NAMES.join(', ')})`);
  return {
    sizeMiB: positive('size-mib', values['size-mib'], 1024),
    files: positive('files', values.files, 10_000),
    smallFiles: positive('small-files', values['small-files'], 2000),
    randomReads: positive('random-reads', values['random-reads'], 2000),
    only: [...new Set(only)] as FsName[],
    capSec: positive('phase-timeout', values['phase-timeout'], 300),
    attrTimeout: values['attr-timeout'] === undefined ? undefined : positive('attr-timeout', values['attr-timeout'], 1, false),
    rcloneCacheMode: values['rclone-cache-mode'] ?? 'writes',
    rcloneWriteBack: values['rclone-write-back'] ?? '0s',
    seed: positive('seed', values.seed, 1),
    cpuProf: values['objectfs-cpu-prof'] === undefined ? undefined : resolve(values['objectfs-cpu-prof']),
    probe: values['objectfs-probe'] === true,
    jsonOut: values['json-out'],
  };
}

function note(msg: string): void {
  process.stderr.write(`[mount-bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

async function main(): Promise<number> {
  const cfg = configFromArgs(parseConfig, USAGE);
  if (cfg === undefined) return 2;
  if (process.getuid?.() !== 0) {
    process.stderr.write('mount-bench must run as root (FUSE mounts of s3fs/rclone, drop_caches)\n');
    return 2;
  }
  const bed = createBed('objectfs-mount-bench-');
  const teardown = (): void => {
    for (const w of killAllDaemons()) note(`cleanup: ${w}`);
    for (const w of bed.finish()) note(`cleanup: ${w}`);
  };
  process.on('exit', teardown);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(s, () => {
      note(`${s}: unmounting everything, stopping the daemons and servers`);
      teardown();
      process.exit(128 + (s === 'SIGINT' ? 2 : s === 'SIGHUP' ? 1 : 15));
    });
  }
  const fss: BenchFs[] = [];
  try {
    const started = new Date();
    const commit = commitInfo(ROOT);
    const machine = machineInfo();
    if (machine.loadAvg1mAtStart > 0.5) note(`load average is ${machine.loadAvg1mAtStart}: something else is running, the figures will be noisy`);

    note('starting s3rver' + (cfg.only.includes('objectfs') ? ' and a private PostgreSQL' : ''));
    const s3 = await startBenchS3(bed, BUCKET);
    let pg: PrivatePostgres | undefined;
    let pgInfo: { version: string; settings: Record<string, string> } | undefined;
    const ctx = { root: bed.root, endpoint: s3.endpoint, bucket: BUCKET, log: note };
    for (const name of cfg.only) {
      if (isObjectFsColumn(name)) {
        pg ??= await startPrivatePostgres(bed);
        const database = `objectfs_mount_bench${name.slice('objectfs'.length).replaceAll('-', '_')}`;
        await withClient(pg.url, (c) => c.query(`CREATE DATABASE ${database}`));
        const metaUrl = pg.url.replace(/\/postgres$/, `/${database}`);
        pgInfo = await withClient(metaUrl, (c) => serverInfo((t) => c.query(t)));
        const storage = `s3://${BUCKET}/${name}?${new URLSearchParams({ endpoint: s3.endpoint, region: 'us-east-1', 'path-style': 'true' }).toString()}`;
        await execFileP(process.execPath, [BIN, 'format', metaUrl, VOLUME, '--storage', storage], {
          env: { ...process.env, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' },
        });
        if (cfg.cpuProf !== undefined) mkdirSync(cfg.cpuProf, { recursive: true });
        fss.push(objectfs(ctx, { bin: BIN, metaUrl, attrTimeout: cfg.attrTimeout, column: name,
          ...(cfg.cpuProf === undefined ? {} : { cpuProfDir: cfg.cpuProf }),
          ...(cfg.probe ? { probeScript: join(ROOT, 'dist', 'bench', 'support', 'daemon-probe.js') } : {}),
        }));
      } else if (name === 's3fs') fss.push(s3fs(ctx));
      else if (name === 'rclone') fss.push(rclone(ctx, { cacheMode: cfg.rcloneCacheMode, writeBack: cfg.rcloneWriteBack }));
      else fss.push(local(ctx));
    }
    for (const fs of fss) {
      note(`mounting ${fs.name}`);
      await fs.mount();
    }

    note('generating the data pool');
    const pattern = DataPattern.create('random', cfg.seed);
    const capMs = cfg.capSec * 1000;
    const data: DataConfig = {
      fileBytes: cfg.sizeMiB * MiB, requestBytes: REQUEST_BYTES, randomReads: cfg.randomReads, randomReadBytes: RANDOM_READ_BYTES,
      smallFiles: cfg.smallFiles, smallFileBytes: SMALL_FILE_BYTES, seed: cfg.seed, capMs,
    };
    const runner = new MountRunner(new CpuProbe(s3.pid, pg?.dataDir), s3.pid, note);
    /** Filesystems that left a call hanging: restarted before their next phase. */
    const hung = new Set<FsName>();

    const phase = async (fs: BenchFs, id: MeasureId, cold: boolean, work: () => Promise<PhaseOutcome>): Promise<MountResult | undefined> => {
      try {
        if (cold || hung.has(fs.name)) {
          if (hung.has(fs.name)) note(`${fs.name}: restarting after a hung call`);
          await fs.coldRestart();
          hung.delete(fs.name);
        }
        const r = await runner.run(fs.name, id, fs.daemonPid(), { dropCache: cold, ...(fs.probe === undefined ? {} : { probe: () => fs.probe!() }) }, work);
        if (r.hung) hung.add(fs.name);
        return r;
      } catch (e) {
        const message = (e as Error).message;
        note(`${fs.name} ${id} FAILED: ${message}\n${fs.logTail(10)}`);
        const failed: MountResult = {
          id: `${fs.name}.${id}`, fs: fs.name, measure: id, unit: 'op', planned: 0, count: 0, complete: false, stopped: `error: ${message}`,
          bytes: 0, wallMs: 0, perSec: 0, mibPerSec: 0, usPerOp: Number.NaN, details: { error: message, log: fs.logTail(10) },
        };
        runner.results.push(failed);
        return undefined;
      }
    };
    const stored = async (fs: BenchFs, from: MountResult | undefined, id: MeasureId, expect: StoredExpectation): Promise<void> => {
      if (from === undefined || fs.name === 'local' || from.count === 0) return;
      const w = await fs.waitStored(expect, capMs);
      runner.addStored(from, id, w.waitedMs, w.complete);
    };

    // 1. Sequential write, then cold sequential and random reads.
    const written = new Map<FsName, number>();
    for (const fs of fss) {
      note(`${fs.name}: sequential write of ${cfg.sizeMiB} MiB`);
      const r = await phase(fs, 'seq-write', false, () => seqWrite(fs.root, pattern, data));
      if (r !== undefined) written.set(fs.name, r.bytes);
      await stored(fs, r, 'seq-write-stored', { path: SEQ_FILE, objects: 1, bytes: r?.bytes ?? 0 });
    }
    for (const fs of fss) {
      const size = written.get(fs.name) ?? 0;
      if (size > 0) await phase(fs, 'seq-read', true, () => seqRead(fs.root, pattern, data, size));
    }
    for (const fs of fss) {
      const size = written.get(fs.name) ?? 0;
      if (size >= RANDOM_READ_BYTES) await phase(fs, 'rand-read', true, () => randRead(fs.root, pattern, data, size));
    }

    // 2. The metadata workload, one directory per filesystem.
    for (const fs of fss) {
      note(`${fs.name}: metadata workload on ${cfg.files} files`);
      const state = new MetaState(fs.root);
      const created = await phase(fs, 'create', false, () => metaCreate(state, cfg.files, capMs));
      await stored(fs, created, 'create-stored', { path: `${META_DIR}/`, objects: state.names.length, bytes: 0 });
      if (state.names.length === 0) continue;
      await phase(fs, 'stat', false, () => metaStat(state, capMs));
      await listBeforeStat(state);
      await phase(fs, 'stat-listed', false, () => metaStatListed(state, capMs));
      await phase(fs, 'list', false, () => metaList(state, capMs));
      await phase(fs, 'list-cold', true, () => metaList(state, capMs));
      await phase(fs, 'rename', false, () => metaRename(state, capMs));
      await phase(fs, 'delete', false, () => metaDelete(state, capMs));
    }

    // 3. Small files: all written, then all read back cold.
    const smallDone = new Map<FsName, number>();
    for (const fs of fss) {
      note(`${fs.name}: ${cfg.smallFiles} files of 64 KiB`);
      const r = await phase(fs, 'small-write', false, () => smallWrite(fs.root, pattern, data));
      if (r !== undefined) smallDone.set(fs.name, r.count);
      await stored(fs, r, 'small-write-stored', { path: `${SMALL_DIR}/`, objects: r?.count ?? 0, bytes: r?.bytes ?? 0 });
    }
    for (const fs of fss) {
      const files = smallDone.get(fs.name) ?? 0;
      if (files > 0) await phase(fs, 'small-read', true, () => smallRead(fs.root, pattern, data, files));
    }
    for (const fs of fss) {
      const files = smallDone.get(fs.name) ?? 0;
      if (files > 0) await phase(fs, 'small-read-listed', true, () => smallReadListed(fs.root, pattern, data, files));
    }

    note('unmounting');
    for (const fs of fss) await fs.unmount();
    await s3.stop();

    const results = runner.results;
    const names = fss.map((f) => f.name);
    const rowConfig = { sizeMiB: cfg.sizeMiB, files: cfg.files, smallFiles: cfg.smallFiles, smallFileKiB: SMALL_FILE_BYTES / KiB, randomReads: cfg.randomReads };
    const rows = tableRows(results, names, rowConfig);
    const doc = {
      benchmark: 'objectfs-mount',
      ...commit,
      date: started.toISOString(),
      durationSec: Math.round((Date.now() - started.getTime()) / 1000),
      machine: { ...machine, loadAvg1mAtEnd: Math.round((loadavg()[0] ?? 0) * 100) / 100 },
      versions: {
        objectfs: packageVersion('objectfs', ROOT),
        s3fs: toolVersion('s3fs', ['--version']),
        rclone: toolVersion('rclone', ['version']),
        fusermount: toolVersion('fusermount3', ['-V']),
        s3rver: packageVersion('s3rver'),
        libfuse: toolVersion('pkg-config', ['--modversion', 'fuse3']),
        node: process.version,
        ...(pgInfo === undefined ? {} : { postgres: pgInfo.version }),
      },
      config: {
        sizeMiB: cfg.sizeMiB,
        requestBytes: REQUEST_BYTES,
        randomReads: cfg.randomReads,
        randomReadBytes: RANDOM_READ_BYTES,
        files: cfg.files,
        smallFiles: cfg.smallFiles,
        smallFileBytes: SMALL_FILE_BYTES,
        phaseTimeoutSec: cfg.capSec,
        objectfsProbe: cfg.probe ? 'on: the daemon ran with bench/support/daemon-probe.js preloaded (slightly slower)' : 'off',
        objectfsCpuProf: cfg.cpuProf !== undefined,
        seed: cfg.seed,
        inFlight: 1,
        calls: 'node:fs promises (libuv thread pool), one call in flight',
        pageCache: 'sync + drop_caches before every cold phase, after the filesystem\'s own cold restart (pageCacheDropped per result)',
        s3: { server: `s3rver ${packageVersion('s3rver')} (child process, 127.0.0.1), one bucket, one prefix per filesystem`, dataDirFs: fsType(s3.dataDir) },
        ...(pg === undefined || pgInfo === undefined ? {} : { postgres: { version: pgInfo.version, settings: pgInfo.settings, dataDirFs: fsType(pg.dataDir) } }),
        objectfsFormat: `objectfs format META_URL ${VOLUME} --storage s3://${BUCKET}/objectfs?endpoint=…&path-style=true (defaults: 4 MiB blocks, lz4, trash 1 day)`,
        s3fsOptions: s3fsOptions('http://127.0.0.1:PORT', 'FILE'),
        filesystems: Object.fromEntries(fss.map((f) => [f.name, f.description])),
        localDirFs: fsType(bed.root),
      },
      results,
      table: rows,
    };
    const json = JSON.stringify(doc, null, 2);
    if (cfg.jsonOut !== undefined) {
      mkdirSync(dirname(resolve(cfg.jsonOut)), { recursive: true });
      writeFileSync(cfg.jsonOut, `${json}\n`);
    }
    process.stdout.write(`${json}\n\n${markdownTable(rows, names, results)}\n\n${cpuTable(results)}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`[mount-bench] FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    for (const fs of fss) {
      const t = fs.logTail(10);
      if (t !== '') process.stderr.write(`--- ${fs.name} log:\n${t}\n`);
    }
    return 1;
  } finally {
    for (const fs of fss) await fs.unmount().catch(() => undefined);
    teardown();
  }
}

process.exitCode = await main();
