/**
 * The filesystems of the mount benchmark, each behind one interface: ObjectFS (`objectfs mount`
 * in the foreground), s3fs, `rclone mount` and a plain local directory. Each FUSE daemon is a
 * child process of the bench, in its own process group (so Ctrl-C reaches the bench, which
 * decides the order of the teardown), its mount point and caches inside the bed's temp root
 * (so the bed's teardown and the test bed's reaper unmount them even if the bench is killed),
 * and its output in a log file next to them.
 *
 * What "cold" means for each (coldRestart, followed by the caller's drop of the page cache):
 * ObjectFS is remounted with an empty --cache-dir (the memory cache dies with the daemon);
 * s3fs is remounted (no use_cache: it has no disk cache; its stat cache is in memory); rclone
 * is remounted with an empty --cache-dir after its uploads have drained; the local directory
 * only loses the page cache.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS } from './s3rver.js';
import { freePort } from '../../test/support/pg-tools.js';

const execFileP = promisify(execFile);

export const FS_NAMES = ['objectfs', 'objectfs-writeback', 'objectfs-prefetch-dir', 's3fs', 'rclone', 'local'] as const;

/**
 * The ObjectFS columns and the flags each adds to the product's defaults: "objectfs" (the
 * headline) adds none; the others are extra columns, each on its own volume, run only when
 * named in --only.
 */
export const OBJECTFS_COLUMNS = {
  objectfs: [],
  'objectfs-writeback': ['--writeback'],
  'objectfs-prefetch-dir': ['--prefetch-dir'],
} as const satisfies Partial<Record<(typeof FS_NAMES)[number], readonly string[]>>;
export type ObjectFsColumn = keyof typeof OBJECTFS_COLUMNS;

export function isObjectFsColumn(name: string): name is ObjectFsColumn {
  return Object.hasOwn(OBJECTFS_COLUMNS, name);
}
export type FsName = (typeof FS_NAMES)[number];

export interface BenchFs {
  readonly name: FsName;
  /** The directory the workloads run in (the mount point, or the local directory). */
  readonly root: string;
  /** Key prefix of this filesystem's objects in the bucket (undefined for local). */
  readonly s3Prefix: string | undefined;
  /** Command line and settings, for the JSON. */
  readonly description: Readonly<Record<string, unknown>>;
  /** Pid of the serving daemon, while mounted. */
  daemonPid(): number | undefined;
  mount(): Promise<void>;
  /** Clean stop: the daemon unmounts (ObjectFS commits pending writes first) and exits. */
  unmount(): Promise<void>;
  /** Makes the next read cold as described above (the caller drops the page cache after). */
  coldRestart(): Promise<void>;
  /**
   * Waits until what was just written is stored in S3. ObjectFS and s3fs store at close/fsync,
   * the local directory has nothing to store: they return at once. rclone's
   * `--vfs-cache-mode writes` uploads after close, from its cache: this polls its rc
   * `vfs/stats` until no upload is queued or in progress, and then lists the objects under
   * `expect.path` until there are `expect.objects` of them holding `expect.bytes` in all
   * (the kernel sends RELEASE, on which rclone queues the upload, after close(2) returned, so
   * an empty queue alone does not prove that the last file was queued).
   */
  waitStored(expect: StoredExpectation, timeoutMs: number): Promise<{ waitedMs: number; complete: boolean }>;
  /** The last lines of the daemon's log (for error messages). */
  logTail(lines?: number): string;
  /** ObjectFS with --objectfs-probe: the daemon's FUSE-op and database counters so far. */
  probe?(): Promise<ProbeSnapshot | undefined>;
}

/** Objects expected under a path of the filesystem once everything written is stored. */
export interface StoredExpectation {
  /** Path relative to the filesystem's root: a file, or a directory ending in "/". */
  readonly path: string;
  readonly objects: number;
  readonly bytes: number;
}

/** Number and total size of the objects whose keys start with `prefix`. */
export async function s3Objects(client: S3Client, bucket: string, prefix: string): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
    for (const o of page.Contents ?? []) {
      objects++;
      bytes += o.Size ?? 0;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return { objects, bytes };
}

/** What bench/support/daemon-probe.ts reports. */
export interface ProbeSnapshot {
  readonly seq: number;
  readonly ops: Readonly<Record<string, { readonly n: number; readonly ns: number; readonly queries?: number }>>;
  readonly db: { readonly queries: number; readonly ns: number };
  readonly reads?: { readonly sequential: number; readonly other: number };
}

// ---------------------------------------------------------------------------------------------
// Emergency cleanup: every daemon and mount point this process started, for synchronous use
// from signal and exit handlers (before the bed removes its root).

const liveDaemons = new Map<number, string>();

/** Lazily unmounts every mount point of a live daemon and SIGKILLs the daemons. Synchronous. */
export function killAllDaemons(): string[] {
  const warnings: string[] = [];
  for (const [pid, mnt] of liveDaemons) {
    if (isMounted(mnt)) lazyUnmountSync(mnt);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
    warnings.push(`killed daemon ${pid} (${mnt})`);
  }
  liveDaemons.clear();
  return warnings;
}

export function isMounted(mnt: string): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === mnt);
  } catch {
    return false;
  }
}

function lazyUnmountSync(mnt: string): boolean {
  for (const [cmd, args] of [['fusermount', ['-uz', mnt]], ['fusermount3', ['-uz', mnt]], ['umount', ['-l', mnt]]] as const) {
    if (spawnSync(cmd, [...args], { stdio: 'ignore', timeout: 30_000 }).status === 0) return true;
  }
  return false;
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** One foreground FUSE daemon: started, watched until the kernel shows its mount, stopped. */
class Daemon {
  readonly #label: string;
  readonly #mnt: string;
  readonly #log: string;
  #child: ChildProcess | undefined;
  #exit: Promise<void> = Promise.resolve();

  constructor(label: string, mnt: string, log: string) {
    this.#label = label;
    this.#mnt = mnt;
    this.#log = log;
  }

  get pid(): number | undefined {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  logTail(lines: number): string {
    return tail(this.#log, lines);
  }

  async start(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
    if (isMounted(this.#mnt)) lazyUnmountSync(this.#mnt);
    mkdirSync(this.#mnt, { recursive: true });
    const out = openSync(this.#log, 'a');
    writeFileSync(out, `--- ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`);
    const child = spawn(cmd, [...args], { detached: true, stdio: ['ignore', out, out], env });
    closeSync(out);
    this.#child = child;
    let exited = false;
    this.#exit = new Promise((resolve) => child.once('exit', () => {
      exited = true;
      if (child.pid !== undefined) liveDaemons.delete(child.pid);
      resolve();
    }));
    child.once('error', () => undefined); // reported through 'exit'
    if (child.pid !== undefined) liveDaemons.set(child.pid, this.#mnt);
    const deadline = Date.now() + 120_000;
    while (!isMounted(this.#mnt)) {
      if (exited) throw new Error(`${this.#label} exited before mounting; last lines of ${this.#log}:\n${this.logTail(15)}`);
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`${this.#label} did not mount ${this.#mnt} within 120 s; see ${this.#log}`);
      }
      await sleep(50);
    }
    await stat(this.#mnt); // answers
  }

  /** SIGTERM, then waits (the daemon unmounts itself); lazy unmount and SIGKILL as last resorts. */
  async stop(graceMs = 180_000): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const gone = await Promise.race([this.#exit.then(() => true), sleep(graceMs, false, { ref: false })]);
      if (!gone) {
        lazyUnmountSync(this.#mnt);
        child.kill('SIGKILL');
        await this.#exit;
      }
    }
    const deadline = Date.now() + 10_000;
    while (isMounted(this.#mnt) && Date.now() < deadline) await sleep(50);
    if (isMounted(this.#mnt)) lazyUnmountSync(this.#mnt);
  }
}

export interface FsContext {
  /** The bed's temp root: mount points, caches, logs and configs go below it. */
  readonly root: string;
  readonly endpoint: string;
  readonly bucket: string;
  readonly log: (msg: string) => void;
}

const S3_ENV = {
  AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
  AWS_REGION: 'us-east-1',
};

function cleanEnv(extra: Readonly<Record<string, string>>, drop: readonly string[] = []): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of ['AWS_SESSION_TOKEN', 'AWS_PROFILE', ...drop]) delete env[k];
  return env;
}

function freshDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
}

const instant = async (): Promise<{ waitedMs: number; complete: boolean }> => ({ waitedMs: 0, complete: true });

// ---------------------------------------------------------------------------------------------

export interface ObjectFsSettings {
  /** The objectfs executable (dist/src/cli/bin.js). */
  readonly bin: string;
  readonly metaUrl: string;
  /** --attr-timeout; undefined: not passed (the product's default). */
  readonly attrTimeout: number | undefined;
  /** Run the daemon under `node --cpu-prof`, profiles in this directory (one per mount). */
  readonly cpuProfDir?: string;
  /** Preload bench/support/daemon-probe.js (compiled) into the daemon. */
  readonly probeScript?: string;
  /** Which column: its flags are added to the defaults (OBJECTFS_COLUMNS). */
  readonly column: ObjectFsColumn;
}

export function objectfs(ctx: FsContext, s: ObjectFsSettings): BenchFs {
  const name = s.column;
  const writeback = name === 'objectfs-writeback';
  const dir = join(ctx.root, name);
  const mnt = join(dir, 'mnt');
  const cacheDir = join(dir, 'cache');
  mkdirSync(dir, { recursive: true });
  const daemon = new Daemon('objectfs mount', mnt, join(dir, 'daemon.log'));
  const probeFile = join(dir, 'probe.json');
  const nodeArgs = [
    ...(s.cpuProfDir === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', s.cpuProfDir]),
    ...(s.probeScript === undefined ? [] : ['--import', s.probeScript]),
  ];
  const args = [...nodeArgs, s.bin, 'mount', s.metaUrl, mnt, '--cache-dir', cacheDir, ...(s.attrTimeout === undefined ? [] : ['--attr-timeout', String(s.attrTimeout)]),
    ...OBJECTFS_COLUMNS[name], '--log-level', 'warn'];
  const env = cleanEnv({ ...S3_ENV, OBJECTFS_RUNTIME_DIR: join(dir, 'run'), OBJECTFS_BENCH_PROBE_FILE: probeFile });
  const readProbe = (): ProbeSnapshot | undefined => {
    try {
      return JSON.parse(readFileSync(probeFile, 'utf8')) as ProbeSnapshot;
    } catch {
      return undefined;
    }
  };
  const start = (): Promise<void> => {
    rmSync(probeFile, { force: true }); // a new daemon counts from 0
    return daemon.start(process.execPath, args, env);
  };
  /** With --writeback, close returns before the upload: polls `objectfs status` until no slice is staged. */
  const waitStored = !writeback ? instant : async (_expect: StoredExpectation, timeoutMs: number): Promise<{ waitedMs: number; complete: boolean }> => {
    const t0 = Date.now();
    for (;;) {
      const { stdout } = await execFileP(process.execPath, [s.bin, 'status', s.metaUrl, '--json'], { env, maxBuffer: 64 * 1024 * 1024 });
      if ((JSON.parse(stdout) as { staged: unknown[] }).staged.length === 0) return { waitedMs: Date.now() - t0, complete: true };
      if (Date.now() - t0 > timeoutMs) return { waitedMs: Date.now() - t0, complete: false };
      await sleep(25);
    }
  };
  return {
    name,
    root: mnt,
    s3Prefix: `${name}/`,
    description: {
      command: `node ${args.join(' ').replace(s.metaUrl, 'META_URL')}`,
      metadata: 'private PostgreSQL (normal durability: fsync on, synchronous_commit on)',
      storage: `s3://${ctx.bucket}/${name}/ on s3rver`,
      cold: writeback ? 'write-back backlog drained, remount with an empty --cache-dir' : 'remount with an empty --cache-dir',
    },
    daemonPid: () => daemon.pid,
    mount: start,
    unmount: () => daemon.stop(),
    async coldRestart() {
      // A write-back backlog lives in the cache directory: it must be uploaded before that goes.
      if ((await waitStored({ path: '', objects: 0, bytes: 0 }, 600_000)).complete !== true) throw new Error(`${name}: the write-back backlog did not drain`);
      await daemon.stop();
      freshDir(cacheDir);
      await start();
    },
    waitStored,
    logTail: (n = 20) => daemon.logTail(n),
    ...(s.probeScript === undefined ? {} : {
      async probe(): Promise<ProbeSnapshot | undefined> {
        const pid = daemon.pid;
        if (pid === undefined) return undefined;
        const before = readProbe()?.seq ?? 0; // the file is removed at every (re)start
        process.kill(pid, 'SIGUSR2');
        const deadline = Date.now() + 2000;
        while (Date.now() < deadline) {
          const snap = readProbe();
          if (snap !== undefined && snap.seq > before) return snap;
          await sleep(5);
        }
        return undefined;
      },
    }),
  };
}

/** The options s3fs gets (besides -f): what works with s3rver, everything else at s3fs's defaults. */
export function s3fsOptions(endpoint: string, passwdFile: string): string[] {
  return [`url=${endpoint}`, 'use_path_request_style', `passwd_file=${passwdFile}`];
}

/**
 * Fails at once, naming the fix, when a peer's program is missing (scripts/setup.sh installs
 * s3fs and rclone), instead of waiting for a mount that never comes.
 */
function requireProgram(name: string, probe: () => { error?: Error }): void {
  if (probe().error !== undefined) throw new Error(`${name} is not installed: run scripts/setup.sh (it installs the benchmark's peers), or leave ${name} out with --only`);
}

export function s3fs(ctx: FsContext): BenchFs {
  requireProgram('s3fs', () => spawnSync('s3fs', ['--version'], { stdio: 'ignore' }));
  const dir = join(ctx.root, 's3fs');
  const mnt = join(dir, 'mnt');
  mkdirSync(dir, { recursive: true });
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, `${S3RVER_CREDENTIALS.accessKeyId}:${S3RVER_CREDENTIALS.secretAccessKey}\n`, { mode: 0o600 });
  const daemon = new Daemon('s3fs', mnt, join(dir, 'daemon.log'));
  const args = [`${ctx.bucket}:/s3fs`, mnt, '-f', '-o', s3fsOptions(ctx.endpoint, passwd).join(',')];
  const env = cleanEnv({});
  const start = (): Promise<void> => daemon.start('s3fs', args, env);
  return {
    name: 's3fs',
    root: mnt,
    s3Prefix: 's3fs/',
    description: {
      command: `s3fs ${args.join(' ')}`,
      options: 'url, use_path_request_style, passwd_file; defaults otherwise: SigV4, no use_cache (no disk cache), stat cache in memory',
      cold: 'remount',
    },
    daemonPid: () => daemon.pid,
    mount: start,
    unmount: () => daemon.stop(),
    async coldRestart() {
      await daemon.stop();
      await start();
    },
    waitStored: instant,
    logTail: (n = 20) => daemon.logTail(n),
  };
}

export interface RcloneSettings {
  readonly cacheMode: string;
  /** --vfs-write-back: delay between a file's close and its upload. */
  readonly writeBack: string;
}

export function rclone(ctx: FsContext, s: RcloneSettings): BenchFs {
  requireProgram('rclone', () => spawnSync('rclone', ['version'], { stdio: 'ignore' }));
  const dir = join(ctx.root, 'rclone');
  const mnt = join(dir, 'mnt');
  const cacheDir = join(dir, 'cache');
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'rclone.conf');
  writeFileSync(conf, [
    '[bench]', 'type = s3', 'provider = Other', `endpoint = ${ctx.endpoint}`,
    `access_key_id = ${S3RVER_CREDENTIALS.accessKeyId}`, `secret_access_key = ${S3RVER_CREDENTIALS.secretAccessKey}`,
    'region = us-east-1', '',
  ].join('\n'), { mode: 0o600 });
  const daemon = new Daemon('rclone mount', mnt, join(dir, 'daemon.log'));
  let rcPort = 0;
  const args = (): string[] => [
    'mount', `bench:${ctx.bucket}/rclone`, mnt, '--config', conf,
    '--vfs-cache-mode', s.cacheMode, '--vfs-write-back', s.writeBack, '--cache-dir', cacheDir,
    '--rc', '--rc-addr', `127.0.0.1:${rcPort}`, '--rc-no-auth',
  ];
  // rclone's AWS SDK refuses any AWS_CA_BUNDLE when its HTTP transport is rclone's own
  // ("LoadCustomCABundleError"); the endpoint is plain HTTP, so the bundle is not needed.
  const env = cleanEnv({}, ['AWS_CA_BUNDLE']);
  const start = async (): Promise<void> => {
    rcPort = await freePort();
    await daemon.start('rclone', args(), env);
  };
  const rc = async (path: string): Promise<Record<string, unknown>> => {
    const res = await fetch(`http://127.0.0.1:${rcPort}/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    if (!res.ok) throw new Error(`rclone rc ${path}: HTTP ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  };
  const pendingUploads = async (): Promise<number> => {
    const stats = await rc('vfs/stats');
    const dc = (stats['diskCache'] ?? {}) as { uploadsInProgress?: number; uploadsQueued?: number };
    return (dc.uploadsInProgress ?? 0) + (dc.uploadsQueued ?? 0);
  };
  /** rclone's own view: nothing queued or uploading (after a moment for a last RELEASE). */
  const drained = async (timeoutMs: number): Promise<void> => {
    const t0 = Date.now();
    await sleep(500);
    while ((await pendingUploads()) > 0 && Date.now() - t0 < timeoutMs) await sleep(50);
  };
  const waitStored = async (expect: StoredExpectation, timeoutMs: number): Promise<{ waitedMs: number; complete: boolean }> => {
    const t0 = Date.now();
    const client = new S3Client({
      region: 'us-east-1', endpoint: ctx.endpoint, forcePathStyle: true, maxAttempts: 3,
      credentials: { ...S3RVER_CREDENTIALS },
    });
    try {
      for (;;) {
        if ((await pendingUploads()) === 0) {
          const have = await s3Objects(client, ctx.bucket, `rclone/${expect.path}`);
          if (have.objects >= expect.objects && have.bytes >= expect.bytes) return { waitedMs: Date.now() - t0, complete: true };
        }
        if (Date.now() - t0 > timeoutMs) return { waitedMs: Date.now() - t0, complete: false };
        await sleep(25);
      }
    } finally {
      client.destroy();
    }
  };
  return {
    name: 'rclone',
    root: mnt,
    s3Prefix: 'rclone/',
    description: {
      command: `rclone ${args().join(' ').replace(/127\.0\.0\.1:\d+/, '127.0.0.1:PORT')}`,
      config: 'type = s3, provider = Other, endpoint = s3rver, access_key_id/secret_access_key = S3RVER, region = us-east-1',
      cacheMode: `${s.cacheMode}: the mode rclone documents as needed for files opened read-write and for non-sequential writes; it caches written files on local disk and uploads them after close, reads go to S3 (full would cache reads too)`,
      writeBack: `${s.writeBack}: upload as soon as a file is closed (rclone's default waits 5 s), so the "until stored" rows measure upload throughput, not an idle delay`,
      env: 'AWS_CA_BUNDLE removed (rclone refuses it with its own HTTP transport)',
      cold: 'uploads drained, remount with an empty --cache-dir',
    },
    daemonPid: () => daemon.pid,
    mount: start,
    async unmount() {
      if (daemon.pid !== undefined) await drained(600_000).catch(() => undefined);
      await daemon.stop();
    },
    async coldRestart() {
      await drained(600_000);
      await daemon.stop();
      freshDir(cacheDir);
      await start();
    },
    waitStored,
    logTail: (n = 20) => daemon.logTail(n),
  };
}

export function local(ctx: FsContext): BenchFs {
  const dir = join(ctx.root, 'local');
  return {
    name: 'local',
    root: dir,
    s3Prefix: undefined,
    description: { directory: 'a directory on the bench\'s temp root (same disk as s3rver\'s data and PostgreSQL)', cold: 'page cache dropped' },
    daemonPid: () => undefined,
    async mount() {
      if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
    },
    async unmount() {},
    async coldRestart() {},
    waitStored: instant,
    logTail: () => '',
  };
}

/** First line of `cmd args`, or "unknown". */
export function toolVersion(cmd: string, args: readonly string[]): string {
  const r = spawnSync(cmd, [...args], { encoding: 'utf8', timeout: 10_000 });
  const line = `${r.stdout ?? ''}`.split('\n')[0]?.trim() ?? '';
  return r.status === 0 && line !== '' ? line : 'unknown';
}
