/**
 * The workloads of the mount benchmark: ordinary syscalls (node:fs promises, one call in
 * flight) on a directory, whatever filesystem serves it. Every phase is capped in time: when
 * a filesystem is too slow (or hangs), the phase stops at the cap and reports what it did,
 * with `complete: false`, instead of holding up the run. Every byte read is checked against
 * the pattern that wrote it.
 */
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, lstat, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { randomOffsets, SMALL_FILE_SLICE, type WorkloadShape } from './baseline-phases.js';
import type { DataPattern } from './data-pattern.js';
import type { FsName, ProbeSnapshot } from './mounts.js';
import { dropPageCache, type CpuProbe } from './os-probes.js';
import { round, summarize, type LatencySummary } from './stats.js';

export const MEASURES = [
  'seq-write', 'seq-write-stored', 'seq-read', 'rand-read',
  'create', 'create-stored', 'stat', 'stat-listed', 'list', 'list-cold', 'rename', 'delete',
  'small-write', 'small-write-stored', 'small-read', 'small-read-listed',
] as const;
export type MeasureId = (typeof MEASURES)[number];

export type Unit = 'request' | 'op' | 'file' | 'entry';

export interface ProcessCpu {
  readonly bench: number;
  /** The filesystem's daemon (ObjectFS's node process, s3fs, rclone). */
  readonly daemon: number;
  readonly s3rver: number;
  readonly postgres: number;
  /** The rest of the machine (another benchmark, a build…): should be near 0. */
  readonly other: number;
}

export interface MountResult {
  /** `<fs>.<measure>`, e.g. `objectfs.create` (what bench/cpu-profile-top.js --phase takes). */
  readonly id: string;
  readonly fs: FsName;
  readonly measure: MeasureId;
  readonly unit: Unit;
  /** Requests/ops/files/entries the phase was to do, and did. */
  readonly planned: number;
  readonly count: number;
  readonly complete: boolean;
  /** Why it stopped before `planned` (time cap, hung call, error). */
  readonly stopped?: string;
  readonly bytes: number;
  readonly wallMs: number;
  /** count ÷ wall time. */
  readonly perSec: number;
  readonly mibPerSec: number;
  /** Wall time ÷ count (µs). */
  readonly usPerOp: number;
  /** Per call (per request, per 4 KiB read, per file, per op, per lstat). */
  readonly latency?: LatencySummary;
  readonly pageCacheDropped?: boolean;
  readonly cpuSec?: ProcessCpu;
  /** CPU time as % of one core over the wall time (up to 100 × cores). */
  readonly cpuPercent?: ProcessCpu;
  /**
   * The phase's window on CLOCK_MONOTONIC (µs), the clock V8 stamps CPU-profile samples with:
   * cut a `--objectfs-cpu-prof` profile of the daemon to one phase with bench/cpu-profile-top.js.
   */
  readonly clockUs?: { readonly start: number; readonly end: number };
  readonly details: Readonly<Record<string, unknown>>;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** CPU seconds (user + system, all threads) of one process; 0 once it is gone. */
export function pidCpuSec(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
  } catch {
    return 0;
  }
}

interface Capped {
  readonly planned: number;
  readonly done: number;
  readonly samplesNs: Float64Array;
  readonly complete: boolean;
  readonly stopped?: string;
  /** A call did not return by the cap: the filesystem must be restarted before its next phase. */
  readonly hung: boolean;
}

const HUNG = Symbol('hung');

/** A call running when the cap is reached may finish within this grace and still count. */
const GRACE_MS = 30_000;

/**
 * fn(0..n-1), one at a time, timing each call, until done or `capMs` after the start. A call
 * running at the cap may finish within GRACE_MS (it counts); one still running after that is
 * abandoned (its thread stays blocked until the filesystem is unmounted) and the result
 * says so.
 */
export async function capped(n: number, capMs: number, fn: (i: number) => Promise<void>, startMs = Date.now()): Promise<Capped> {
  const samples = new Float64Array(n);
  const deadline = startMs + capMs;
  let done = 0;
  let stopped: string | undefined;
  let hung = false;
  for (let i = 0; i < n; i++) {
    const left = deadline - Date.now();
    if (left <= 0) {
      stopped = `time cap of ${capMs / 1000} s reached after ${done} of ${n}`;
      break;
    }
    const s = process.hrtime.bigint();
    let timer: NodeJS.Timeout | undefined;
    try {
      const r = await Promise.race([fn(i), new Promise<typeof HUNG>((resolve) => { timer = setTimeout(() => resolve(HUNG), left + GRACE_MS); })]);
      if (r === HUNG) {
        hung = true;
        stopped = `call ${i} still running ${GRACE_MS / 1000} s after the time cap of ${capMs / 1000} s (after ${done} of ${n})`;
        break;
      }
    } catch (e) {
      stopped = `error at ${i} (after ${done} of ${n}): ${(e as Error).message}`;
      break;
    } finally {
      clearTimeout(timer);
    }
    samples[i] = Number(process.hrtime.bigint() - s);
    done++;
  }
  return { planned: n, done, samplesNs: samples.subarray(0, done), complete: done === n, hung, ...(stopped === undefined ? {} : { stopped }) };
}

export interface PhaseOutcome {
  readonly unit: Unit;
  readonly run: Capped;
  readonly bytes: number;
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * Bytes a process moved through read(2)/write(2)-family calls (/proc/<pid>/io rchar, wchar),
 * files and sockets alike. For s3rver: a PUT is read from the socket and written to a file, a
 * GET read from a file and written to the socket, so either counter follows the object bytes
 * that crossed it.
 */
export function pidIo(pid: number): { rchar: number; wchar: number } {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    const get = (k: string): number => Number(new RegExp(`^${k}: (\\d+)`, 'm').exec(text)?.[1] ?? 0);
    return { rchar: get('rchar'), wchar: get('wchar') };
  } catch {
    return { rchar: 0, wchar: 0 };
  }
}

/** Times workloads and records the CPU of every process involved. */
export class MountRunner {
  readonly results: MountResult[] = [];
  readonly #probe: CpuProbe;
  readonly #s3Pid: number;
  readonly #note: (msg: string) => void;

  constructor(probe: CpuProbe, s3Pid: number, note: (msg: string) => void) {
    this.#probe = probe;
    this.#s3Pid = s3Pid;
    this.#note = note;
  }

  async run(
    fs: FsName, measure: MeasureId, daemonPid: number | undefined,
    opts: { dropCache: boolean; probe?: () => Promise<ProbeSnapshot | undefined> },
    workload: () => Promise<PhaseOutcome>,
  ): Promise<MountResult & { hung: boolean }> {
    let pageCacheDropped: boolean | undefined;
    if (opts.dropCache) {
      const d = dropPageCache();
      pageCacheDropped = d.dropped;
      if (!d.dropped) this.#note(`${fs} ${measure}: could not drop the page cache (${d.reason})`);
    }
    const p0 = opts.probe === undefined ? undefined : await opts.probe();
    const c0 = this.#probe.sample();
    const d0 = pidCpuSec(daemonPid);
    const io0 = pidIo(this.#s3Pid);
    const start = nowUs();
    const t0 = process.hrtime.bigint();
    const out = await workload();
    const wallNs = Number(process.hrtime.bigint() - t0);
    const end = nowUs();
    const c1 = this.#probe.sample();
    const d1 = pidCpuSec(daemonPid);
    const io1 = pidIo(this.#s3Pid);
    const p1 = opts.probe === undefined ? undefined : await opts.probe();
    const wallSec = wallNs / 1e9;
    const daemon = Math.max(0, d1 - d0);
    const cpuSec: ProcessCpu = {
      bench: round(c1.bench - c0.bench, 2),
      daemon: round(daemon, 2),
      s3rver: round(c1.s3rver - c0.s3rver, 2),
      postgres: round(c1.postgres - c0.postgres, 2),
      other: round(Math.max(0, c1.machine - c0.machine - (c1.bench - c0.bench) - daemon - (c1.s3rver - c0.s3rver) - (c1.postgres - c0.postgres)), 2),
    };
    const pct = (v: number): number => round((100 * v) / wallSec, 0);
    const { run } = out;
    const result: MountResult = {
      id: `${fs}.${measure}`, fs, measure, unit: out.unit, planned: run.planned, count: run.done, complete: run.complete,
      ...(run.stopped === undefined ? {} : { stopped: run.stopped }),
      bytes: out.bytes,
      wallMs: round(wallNs / 1e6, 1),
      perSec: round(run.done / wallSec, 1),
      mibPerSec: round(out.bytes / 1048576 / wallSec, 1),
      usPerOp: round(run.done === 0 ? Number.NaN : wallNs / 1000 / run.done, 1),
      ...(run.samplesNs.length > 0 ? { latency: summarize(run.samplesNs, wallNs) } : {}),
      ...(pageCacheDropped === undefined ? {} : { pageCacheDropped }),
      cpuSec,
      cpuPercent: { bench: pct(cpuSec.bench), daemon: pct(cpuSec.daemon), s3rver: pct(cpuSec.s3rver), postgres: pct(cpuSec.postgres), other: pct(cpuSec.other) },
      clockUs: { start, end },
      details: {
        ...(out.details ?? {}),
        s3rverIoMiB: { read: round((io1.rchar - io0.rchar) / 1048576, 1), written: round((io1.wchar - io0.wchar) / 1048576, 1) },
        ...(p0 !== undefined && p1 !== undefined ? { daemon: probeDiff(p0, p1, run.done, wallNs) } : {}),
      },
    };
    this.results.push(result);
    this.#note(
      `${fs} ${measure}: ${result.perSec} ${out.unit}s/s` + (out.bytes > 0 ? `, ${result.mibPerSec} MiB/s` : '') +
        `, ${result.usPerOp} µs/${out.unit} in ${(result.wallMs / 1000).toFixed(1)} s` +
        (run.complete ? '' : ` — PARTIAL: ${run.stopped}`) +
        `; CPU % bench ${result.cpuPercent?.bench} daemon ${result.cpuPercent?.daemon} s3rver ${result.cpuPercent?.s3rver} pg ${result.cpuPercent?.postgres} other ${result.cpuPercent?.other}`,
    );
    return { ...result, hung: run.hung };
  }

  /** A row derived from another (a write plus the wait until it is stored in S3). */
  addStored(from: MountResult, measure: MeasureId, waitedMs: number, complete: boolean): MountResult {
    const wallMs = from.wallMs + waitedMs;
    const wallSec = wallMs / 1000;
    const result: MountResult = {
      id: `${from.fs}.${measure}`, fs: from.fs, measure, unit: from.unit, planned: from.planned, count: from.count,
      complete: from.complete && complete,
      ...(from.stopped !== undefined ? { stopped: from.stopped } : complete ? {} : { stopped: 'uploads still pending at the cap' }),
      bytes: from.bytes,
      wallMs: round(wallMs, 1),
      perSec: round(from.count / wallSec, 1),
      mibPerSec: round(from.bytes / 1048576 / wallSec, 1),
      usPerOp: round((wallMs * 1000) / from.count, 1),
      details: { writeWallMs: from.wallMs, waitedForUploadsMs: waitedMs },
    };
    this.results.push(result);
    if (waitedMs > 0) this.#note(`${from.fs} ${measure}: uploads drained ${waitedMs} ms after the last close → ${result.perSec} ${from.unit}s/s, ${result.mibPerSec} MiB/s`);
    return result;
  }
}

/**
 * What the daemon did during a phase, per syscall of the phase (`count`): FUSE operations
 * (calls per syscall, mean µs from dispatch to reply) and database round trips.
 */
function probeDiff(a: ProbeSnapshot, b: ProbeSnapshot, count: number, wallNs: number): Record<string, unknown> {
  const per = (v: number): number => round(v / Math.max(1, count), 2);
  const ops: Record<string, { perCall: number; meanUs: number; totalMs: number; dbQueriesPerOp: number }> = {};
  let opNs = 0;
  for (const [name, s] of Object.entries(b.ops)) {
    const n = s.n - (a.ops[name]?.n ?? 0);
    const ns = s.ns - (a.ops[name]?.ns ?? 0);
    if (n <= 0) continue;
    opNs += ns;
    const q = (s.queries ?? 0) - (a.ops[name]?.queries ?? 0);
    ops[name] = { perCall: per(n), meanUs: round(ns / n / 1000, 1), totalMs: round(ns / 1e6, 1), dbQueriesPerOp: round(q / n, 2) };
  }
  const q = b.db.queries - a.db.queries;
  const qNs = b.db.ns - a.db.ns;
  return {
    fuseOps: ops,
    fuseOpMsPerCall: round(opNs / 1e6 / Math.max(1, count), 3),
    /** Wall time per syscall not spent inside a daemon handler: kernel, libfuse hand-off, the caller. */
    outsideHandlersMsPerCall: round((wallNs - opNs) / 1e6 / Math.max(1, count), 3),
    dbQueriesPerCall: per(q),
    dbMsPerCall: round(qNs / 1e6 / Math.max(1, count), 3),
    dbMeanUsPerQuery: q > 0 ? round(qNs / q / 1000, 1) : null,
    ...(a.reads !== undefined && b.reads !== undefined && b.reads.sequential + b.reads.other > a.reads.sequential + a.reads.other
      ? { fuseReads: { sequential: b.reads.sequential - a.reads.sequential, other: b.reads.other - a.reads.other } }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The workloads

export interface DataConfig extends WorkloadShape {
  readonly capMs: number;
}

export const SEQ_FILE = 'seq';

/** One file in requestBytes writes, then fsync and close (both inside the timing). */
export async function seqWrite(dir: string, pattern: DataPattern, cfg: DataConfig): Promise<PhaseOutcome> {
  const requests = Math.ceil(cfg.fileBytes / cfg.requestBytes);
  const len = (i: number): number => Math.min(cfg.requestBytes, cfg.fileBytes - i * cfg.requestBytes);
  const t0 = Date.now();
  const fh = await open(join(dir, SEQ_FILE), 'w');
  const run = await capped(requests, cfg.capMs, async (i) => {
    const buf = pattern.slice(i, len(i));
    const { bytesWritten } = await fh.write(buf, 0, buf.length, i * cfg.requestBytes);
    if (bytesWritten !== buf.length) throw new Error(`short write at request ${i}`);
  }, t0);
  let fsyncMs = 0;
  let closeMs = 0;
  if (!run.hung) {
    try {
      const s = Date.now();
      await fh.sync();
      fsyncMs = Date.now() - s;
    } finally {
      const s = Date.now();
      await fh.close();
      closeMs = Date.now() - s;
    }
  }
  let bytes = 0;
  for (let i = 0; i < run.done; i++) bytes += len(i);
  return { unit: 'request', run, bytes, details: { fsyncMs, closeMs, requestBytes: cfg.requestBytes } };
}

/** The file in requestBytes reads, checked. `size`: what the write phase wrote. */
export async function seqRead(dir: string, pattern: DataPattern, cfg: DataConfig, size: number): Promise<PhaseOutcome> {
  const requests = Math.ceil(size / cfg.requestBytes);
  const len = (i: number): number => Math.min(cfg.requestBytes, size - i * cfg.requestBytes);
  const t0 = Date.now();
  const fh = await open(join(dir, SEQ_FILE), 'r');
  const buf = Buffer.allocUnsafe(cfg.requestBytes);
  const run = await capped(requests, cfg.capMs, async (i) => {
    const n = len(i);
    await readFully(fh, buf, n, i * cfg.requestBytes);
    if (!buf.subarray(0, n).equals(pattern.slice(i, n))) throw new Error(`request ${i}: wrong bytes`);
  }, t0);
  if (!run.hung) await fh.close();
  let bytes = 0;
  for (let i = 0; i < run.done; i++) bytes += len(i);
  return { unit: 'request', run, bytes };
}

/** randomReads reads of randomReadBytes at seeded aligned offsets, checked. */
export async function randRead(dir: string, pattern: DataPattern, cfg: DataConfig, size: number): Promise<PhaseOutcome> {
  const offsets = randomOffsets(size, cfg.randomReadBytes, cfg.randomReads, cfg.seed);
  const t0 = Date.now();
  const fh = await open(join(dir, SEQ_FILE), 'r');
  const buf = Buffer.allocUnsafe(cfg.randomReadBytes);
  const run = await capped(offsets.length, cfg.capMs, async (i) => {
    const off = offsets[i] as number;
    await readFully(fh, buf, cfg.randomReadBytes, off);
    if (!buf.equals(pattern.fileBytes(off, cfg.randomReadBytes, cfg.requestBytes))) throw new Error(`read at ${off}: wrong bytes`);
  }, t0);
  if (!run.hung) await fh.close();
  return { unit: 'op', run, bytes: run.done * cfg.randomReadBytes };
}

async function readFully(fh: import('node:fs/promises').FileHandle, buf: Buffer, len: number, pos: number): Promise<void> {
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) throw new Error(`unexpected end of file at ${pos + got}`);
    got += bytesRead;
  }
}

export const SMALL_DIR = 'small';

/** smallFiles files of smallFileBytes: open(O_CREAT|O_TRUNC) + write + close, no fsync. */
export async function smallWrite(dir: string, pattern: DataPattern, cfg: DataConfig): Promise<PhaseOutcome> {
  const t0 = Date.now();
  const d = join(dir, SMALL_DIR);
  await mkdir(d);
  const run = await capped(cfg.smallFiles, cfg.capMs, async (i) => {
    const fh = await open(join(d, `s${i}`), 'w');
    try {
      const { bytesWritten } = await fh.write(pattern.slice(SMALL_FILE_SLICE + i, cfg.smallFileBytes), 0, cfg.smallFileBytes, 0);
      if (bytesWritten !== cfg.smallFileBytes) throw new Error(`short write of file ${i}`);
    } finally {
      await fh.close();
    }
  }, t0);
  return { unit: 'file', run, bytes: run.done * cfg.smallFileBytes, details: { fsync: 'none: close only (ObjectFS and s3fs upload at close, rclone after it)' } };
}

/** The first `files` small files: open + read + close, checked. */
export async function smallRead(dir: string, pattern: DataPattern, cfg: DataConfig, files: number): Promise<PhaseOutcome> {
  const t0 = Date.now();
  const d = join(dir, SMALL_DIR);
  const buf = Buffer.allocUnsafe(cfg.smallFileBytes);
  const run = await capped(files, cfg.capMs, async (i) => {
    const fh = await open(join(d, `s${i}`), 'r');
    try {
      await readFully(fh, buf, cfg.smallFileBytes, 0);
      if (!buf.equals(pattern.slice(SMALL_FILE_SLICE + i, cfg.smallFileBytes))) throw new Error(`file ${i}: wrong bytes`);
    } finally {
      await fh.close();
    }
  }, t0);
  return { unit: 'file', run, bytes: run.done * cfg.smallFileBytes };
}

/**
 * smallRead after listing the directory, the listing timed too: how cp -r, tar or a dataset
 * loader reads (and what lets `--prefetch-dir` start fetching).
 */
export async function smallReadListed(dir: string, pattern: DataPattern, cfg: DataConfig, files: number): Promise<PhaseOutcome> {
  await readdir(join(dir, SMALL_DIR));
  return smallRead(dir, pattern, cfg, files);
}

// ---------------------------------------------------------------------------------------------
// The metadata workload: one directory, `files` empty files.

export const META_DIR = 'meta';

/** The names the metadata phases work on, as they change (created, renamed, deleted). */
export class MetaState {
  readonly dir: string;
  /** Current name of each file that exists. */
  names: string[] = [];

  constructor(root: string) {
    this.dir = join(root, META_DIR);
  }
}

export async function metaCreate(state: MetaState, files: number, capMs: number): Promise<PhaseOutcome> {
  const t0 = Date.now();
  await mkdir(state.dir);
  const run = await capped(files, capMs, async (i) => {
    const fh = await open(join(state.dir, `f${i}`), 'wx'); // O_CREAT|O_EXCL|O_WRONLY
    await fh.close();
  }, t0);
  state.names = Array.from({ length: run.done }, (_, i) => `f${i}`);
  return { unit: 'op', run, bytes: 0, details: { call: 'open(O_CREAT|O_EXCL|O_WRONLY) + close' } };
}

export async function metaStat(state: MetaState, capMs: number): Promise<PhaseOutcome> {
  const names = state.names;
  const run = await capped(names.length, capMs, async (i) => {
    const st = await stat(join(state.dir, names[i] as string));
    if (!st.isFile()) throw new Error(`${names[i]} is not a file`);
  });
  return { unit: 'op', run, bytes: 0, details: { call: 'stat' } };
}

/** Longer than every compared filesystem's kernel entry and attribute timeout (1 s each). */
const KERNEL_CACHE_EXPIRY_MS = 1500;

/**
 * The untimed half of "stat after listing": waits until what the kernel learnt from the phase
 * before has expired, so the listing alone is what can answer, then lists the directory once.
 */
export async function listBeforeStat(state: MetaState): Promise<void> {
  await sleep(KERNEL_CACHE_EXPIRY_MS);
  const listed = await readdir(state.dir);
  if (listed.length !== state.names.length) throw new Error(`readdir returned ${listed.length} entries, expected ${state.names.length}`);
}

/**
 * stat of every file right after listBeforeStat, as issue 11 states the goal ("stat of 10,000
 * files after listing them"): what a filesystem's listing lets the kernel answer by itself.
 */
export async function metaStatListed(state: MetaState, capMs: number): Promise<PhaseOutcome> {
  const names = state.names;
  const run = await capped(names.length, capMs, async (i) => {
    const st = await stat(join(state.dir, names[i] as string));
    if (!st.isFile()) throw new Error(`${names[i]} is not a file`);
  });
  return { unit: 'op', run, bytes: 0, details: { call: `stat of each, right after one readdir of the directory (not timed) made ${KERNEL_CACHE_EXPIRY_MS} ms after the phase before` } };
}

/** Like `ls -l`: the whole directory read first (getdents), then lstat of every entry. */
export async function metaList(state: MetaState, capMs: number): Promise<PhaseOutcome> {
  const t0 = Date.now();
  const r0 = process.hrtime.bigint();
  let names: string[] = [];
  const listing = await capped(1, capMs, async () => { names = await readdir(state.dir); }, t0);
  const readdirMs = Number(process.hrtime.bigint() - r0) / 1e6;
  if (!listing.complete) return { unit: 'entry', run: { ...listing, planned: state.names.length, done: 0, samplesNs: new Float64Array(0) }, bytes: 0, details: { readdirMs } };
  if (names.length !== state.names.length) throw new Error(`readdir returned ${names.length} entries, expected ${state.names.length}`);
  const run = await capped(names.length, capMs, async (i) => {
    await lstat(join(state.dir, names[i] as string));
  }, t0);
  return {
    unit: 'entry', run, bytes: 0,
    details: { call: 'readdir (whole directory) + lstat of each entry', entries: names.length, readdirMs: round(readdirMs, 1), lstatMs: round(run.samplesNs.reduce((a, b) => a + b, 0) / 1e6, 1) },
  };
}

export async function metaRename(state: MetaState, capMs: number): Promise<PhaseOutcome> {
  const names = state.names;
  const run = await capped(names.length, capMs, async (i) => {
    const to = `r${(names[i] as string).slice(1)}`;
    await rename(join(state.dir, names[i] as string), join(state.dir, to));
    names[i] = to;
  });
  return { unit: 'op', run, bytes: 0, details: { call: 'rename(f<i>, r<i>) in the same directory, no target' } };
}

export async function metaDelete(state: MetaState, capMs: number): Promise<PhaseOutcome> {
  const names = state.names;
  const run = await capped(names.length, capMs, async (i) => {
    await unlink(join(state.dir, names[i] as string));
  });
  state.names = names.slice(run.done);
  return { unit: 'op', run, bytes: 0, details: { call: 'unlink' } };
}
