/**
 * The test runner behind `npm test` (via scripts/test.sh, after the build):
 *
 *   node dist/test/support/run-tests.js [unit|integration|e2e|all|<dir>|<file>...] [--node-test-flag...]
 *
 * Selection: no argument or `all` = every `*.test.js` under dist/test except support/; a keyword
 * (any folder name under test/) = that folder; other arguments are paths under test/ (`.ts`,
 * mapped to dist/test/…`.js`) or dist/test/, files or folders. Compiled tests whose `.ts` source
 * is gone (stale tsc output) are never run. Arguments starting with `--` go to `node --test`.
 *
 * Unless every selected file is a unit test it starts a private PostgreSQL (or uses
 * OBJECTFS_TEST_PG_URL) and s3rver, and when a selected file is named `*.radosgw.test.js` also
 * a private Ceph cluster with radosgw (test/support/radosgw.ts), all three at once; exports
 * their coordinates to the tests, runs `node --test` and tears everything down on any exit.
 * Its exit code is the test run's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, findPgBin, pgTool, userIds } from './pg-tools.js';
import { killGroup, type BedState, type PgCluster } from './teardown.js';
import { guardBed } from './guard.js';
import { startRadosgw, type RadosgwBed } from './radosgw.js';

const SUPPORT_DIR = dirname(fileURLToPath(import.meta.url)); // <root>/dist/test/support
const DIST_TEST = dirname(SUPPORT_DIR);
const ROOT = dirname(dirname(DIST_TEST));
const SRC_TEST = join(ROOT, 'test');
const BUCKET = 'objectfs-test';
/**
 * Test files at once. Three on this 2-vCPU kind of machine: many files wait (S3 stopped for 30 s,
 * stall bounds, 60 s writers), so a third file fills those waits; a fresh-clone CI run took
 * 801 s of tests at 3 against about 1,230 s at 2, both cores busy throughout.
 */
const CONCURRENCY = process.env['OBJECTFS_TEST_CONCURRENCY'] ?? '3';
/** Per-test timeout so a hung test fails instead of eating CI's 90 minutes. */
const TEST_TIMEOUT_MS = process.env['OBJECTFS_TEST_TIMEOUT_MS'] ?? '600000';
const SETUP_HINT = 'run `bash scripts/setup.sh` (installs postgresql, fuse and node modules)';

/** A failure of the bed itself (not of a test): printed without a stack, exit code 2. */
class BedError extends Error {}

function note(msg: string): void {
  process.stderr.write(`[test bed] ${msg}\n`);
}

// ---------------------------------------------------------------------------------- selection

function findTests(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) findTests(p, out);
    else if (entry.isFile() && entry.name.endsWith('.test.js')) out.push(p);
  }
}

/** The `.ts` source of a compiled test, or undefined when it is not under dist/test. */
function sourceOf(distFile: string): string {
  return join(SRC_TEST, relative(DIST_TEST, distFile)).replace(/\.js$/, '.ts');
}

/** Maps a user argument (keyword or path under test/ or dist/test/) to a dist/test path. */
function toDistPath(arg: string): string {
  if (arg === 'all') return DIST_TEST;
  if (/^[a-z][a-z0-9_-]*$/i.test(arg) && existsSync(join(SRC_TEST, arg))) return join(DIST_TEST, arg);
  const abs = resolve(arg);
  if (abs === DIST_TEST || abs.startsWith(DIST_TEST + sep)) return abs;
  if (abs === SRC_TEST || abs.startsWith(SRC_TEST + sep)) {
    return join(DIST_TEST, relative(SRC_TEST, abs)).replace(/\.ts$/, '.js');
  }
  // Shorthand relative to test/: `integration/object` or `unit/x.test.ts`.
  const underTest = join(SRC_TEST, arg);
  if (!arg.startsWith('/') && existsSync(underTest)) return toDistPath(underTest);
  throw new BedError(`"${arg}" is neither unit|integration|e2e|all nor a path under test/ or dist/test/`);
}

interface Selection {
  readonly files: string[];
  readonly nodeFlags: string[];
  readonly needsServices: boolean;
  /** A selected file runs against radosgw: its name ends in RADOSGW_SUFFIX. */
  readonly needsRadosgw: boolean;
}

/** Test files that need the bed's radosgw are named `<subject>.radosgw.test.ts`. */
const RADOSGW_SUFFIX = '.radosgw.test.js';

function select(argv: readonly string[]): Selection {
  const nodeFlags = argv.filter((a) => a.startsWith('--'));
  const targets = argv.filter((a) => !a.startsWith('--'));
  if (targets.length === 0) targets.push('all');
  const files = new Set<string>();
  let stale = 0;
  for (const target of targets) {
    const path = toDistPath(target);
    if (!existsSync(path)) {
      throw new BedError(`"${target}" → ${relative(ROOT, path)} does not exist (was it built? npm run build)`);
    }
    if (statSync(path).isDirectory()) {
      const found: string[] = [];
      findTests(path, found);
      for (const f of found) {
        if (f.startsWith(SUPPORT_DIR + sep)) continue;
        if (existsSync(sourceOf(f))) files.add(f);
        else stale++;
      }
    } else {
      if (!existsSync(sourceOf(path))) throw new BedError(`${relative(ROOT, path)} is stale: its source is gone`);
      files.add(path);
    }
  }
  if (stale > 0) note(`ignoring ${stale} stale compiled test file(s) whose .ts source is gone`);
  if (files.size === 0) throw new BedError(`no *.test.js files selected by: ${targets.join(' ')}`);
  const unitDir = join(DIST_TEST, 'unit') + sep;
  const sorted = [...files].sort();
  return {
    files: sorted,
    nodeFlags,
    needsServices: sorted.some((f) => !f.startsWith(unitDir)),
    needsRadosgw: sorted.some((f) => f.endsWith(RADOSGW_SUFFIX) && !f.startsWith(unitDir)),
  };
}

// ---------------------------------------------------------------------------------- services

/** Errors of the PostgreSQL helpers as bed errors, with how to fix a missing install. */
const pgFail = (message: string): Error => new BedError(
  `${message}.\n  Fix: ${SETUP_HINT}, or set OBJECTFS_TEST_PG_URL to a server you own,\n  or OBJECTFS_TEST_PG_BIN to the directory holding initdb.`);

/** initdb into <root>/pg/data and start it on a free port; returns its URL. */
async function startPostgres(state: BedState, root: string, publish: () => void): Promise<string> {
  const pgDir = join(root, 'pg');
  mkdirSync(pgDir, { mode: 0o700 });
  const runAs = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (runAs !== undefined) {
    const { uid, gid } = userIds(runAs, pgFail);
    chownSync(pgDir, uid, gid);
  }
  const pg: PgCluster = { pgCtl: join(findPgBin('OBJECTFS_TEST_PG_BIN', pgFail, true), 'pg_ctl'), dataDir: join(pgDir, 'data'), ...(runAs ? { runAs } : {}) };
  state.pg = pg;
  publish();
  await pgTool(pg, 'initdb', [
    '-D', pg.dataDir, '-U', 'postgres', '-A', 'trust', '--no-sync', '--no-instructions',
    '-E', 'UTF8', '--locale=C',
  ], pgFail);
  const log = join(pgDir, 'server.log');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const opts =
      `-p ${port} -k ${pgDir} -c listen_addresses=127.0.0.1 -c fsync=off ` +
      `-c max_connections=200 -c shared_buffers=128MB`;
    try {
      await pgTool(pg, 'pg_ctl', ['-D', pg.dataDir, '-l', log, '-w', '-t', '60', '-o', opts, 'start'], pgFail);
      return `postgres://postgres@127.0.0.1:${port}/postgres`;
    } catch (e) {
      const logText = existsSync(log) ? readFileSync(log, 'utf8') : '';
      if (attempt < 3 && /could not bind|Address already in use/.test(logText)) continue;
      const tail = logText.trim().split('\n').slice(-15).join('\n  ');
      throw new BedError(`${(e as Error).message}\n  server.log:\n  ${tail}`);
    }
  }
}

/** s3rver in a child process (test/support/s3-server.ts) that dies with our IPC channel. */
function startS3(state: BedState, root: string, publish: () => void): Promise<{ child: ChildProcess; endpoint: string }> {
  const dir = join(root, 's3');
  mkdirSync(dir);
  const child = spawn(process.execPath, ['--openssl-legacy-provider', join(SUPPORT_DIR, 's3-server.js'), '--dir', dir, '--bucket', BUCKET], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  if (child.pid !== undefined) state.s3Pid = child.pid;
  publish();
  return new Promise((resolveStart, reject) => {
    const timer = setTimeout(() => reject(new BedError('s3rver did not start within 30 s')), 30_000);
    child.once('message', (msg: { type?: string; port?: number }) => {
      clearTimeout(timer);
      if (msg.type === 'ready' && typeof msg.port === 'number') {
        resolveStart({ child, endpoint: `http://127.0.0.1:${msg.port}` });
      } else reject(new BedError(`s3rver sent ${JSON.stringify(msg)}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new BedError(`s3rver exited during start (code ${code}, signal ${signal})`));
    });
  });
}

/** The Ceph cluster with radosgw in <root>/ceph; every daemon goes into the bed's `pids` at once. */
async function startCeph(state: BedState, root: string, publish: () => void): Promise<RadosgwBed> {
  const track = (pid: number, marker: string): void => {
    (state.pids ??= []).push({ pid, marker });
    publish();
  };
  try {
    return await startRadosgw({ dir: join(root, 'ceph'), bucket: BUCKET, track });
  } catch (e) {
    throw new BedError(`radosgw did not start: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------- test run

interface Summary {
  pass?: number;
  fail?: number;
  /** The output's last line is a summary line (`ℹ duration_ms …`). */
  endsWithSummary?: boolean;
}

/** Runs `node --test`, streaming its output; resolves with its exit code (128+n on signal n). */
function runNodeTest(
  sel: Selection,
  env: NodeJS.ProcessEnv,
  state: BedState,
  publish: () => void,
  summary: Summary,
  onChild: (child: ChildProcess) => void,
): Promise<number> {
  const args = [
    '--test',
    `--test-concurrency=${CONCURRENCY}`,
    `--test-timeout=${TEST_TIMEOUT_MS}`,
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    ...sel.nodeFlags,
    ...sel.files,
  ];
  // Own process group, so teardown (or the reaper) can kill the per-file subprocesses too.
  const child = spawn(process.execPath, args, { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
  if (child.pid !== undefined) state.testPgid = child.pid;
  publish();
  onChild(child);
  let tail = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    process.stdout.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-4096);
  });
  return new Promise((resolveRun) => {
    child.once('close', (code, signal) => {
      // eslint-disable-next-line no-control-regex
      const plain = tail.replace(/\x1b\[[0-9;]*m/g, '');
      const num = (name: string): number | undefined => {
        const m = [...plain.matchAll(new RegExp(`^ℹ ${name} (\\d+)$`, 'gm'))].pop();
        return m?.[1] === undefined ? undefined : Number(m[1]);
      };
      summary.pass = num('pass');
      summary.fail = num('fail');
      const lines = plain.split('\n').filter((l) => l.trim() !== '');
      summary.endsWithSummary = lines.at(-1)?.startsWith('ℹ ') ?? false;
      resolveRun(code ?? 128 + signalNumber(signal));
    });
  });
}

function signalNumber(signal: NodeJS.Signals | null): number {
  const table: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return signal === null ? 1 : (table[signal] ?? 1);
}

// ---------------------------------------------------------------------------------- main

async function main(): Promise<number> {
  const sel = select(process.argv.slice(2));
  const state: BedState = {};
  const root = mkdtempSync(join(tmpdir(), 'objectfs-test-'));
  chmodSync(root, 0o755); // the postgres user must traverse it to reach its data dir
  state.tmpRoot = root;
  // Multi-host tests name their network namespaces and links under this prefix (3 + 4 chars,
  // leaving room in the 15-byte interface names), so teardown can remove whatever they leave.
  state.netnsPrefix = `ofs${randomBytes(2).toString('hex')}`;
  const testTmp = join(root, 'tmp');
  mkdirSync(testTmp);

  const { publish, finish } = guardBed(state, true);

  let testChild: ChildProcess | undefined;
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted !== undefined) {
      // Second signal: stop waiting for anything.
      finish();
      process.exit(128 + signalNumber(signal));
    }
    interrupted = signal;
    note(`${signal}: stopping tests and tearing down`);
    // Startup in progress: it finishes (bounded by timeouts), then main() sees `interrupted`.
    if (testChild?.pid !== undefined) {
      try {
        process.kill(-testChild.pid, signal);
      } catch {
        // already exited
      }
      const pgid = testChild.pid;
      setTimeout(() => killGroup(pgid), 10_000).unref();
    }
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  let code = 1;
  const summary: Summary = {};
  let warnings: string[] = [];
  try {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: testTmp, OBJECTFS_TEST_TMPDIR: testTmp, OBJECTFS_TEST_NETNS_PREFIX: state.netnsPrefix };
    if (process.stdout.isTTY && env['NO_COLOR'] === undefined) env['FORCE_COLOR'] = '1';
    // New embedded databases copy a pristine one from the user's cache (decision 106): this run
    // makes its own, so it starts from what this checkout's PGlite makes and leaves nothing behind.
    env['XDG_CACHE_HOME'] = join(testTmp, 'xdg-cache');
    // Mounts back up their metadata into the bucket a few seconds after starting (default 1 h):
    // tests that compare a bucket's keys with a volume's blocks, or measure a mount, would see
    // those uploads. The backup test asks for them with --backup-meta, which beats the environment.
    env['OBJECTFS_BACKUP_META'] ??= '0';
    if (sel.needsServices) {
      const started = Date.now();
      const preset = process.env['OBJECTFS_TEST_PG_URL'];
      // allSettled, not all: teardown must not run while another start is still in flight.
      const [pgRes, s3Res, rgwRes] = await Promise.allSettled([
        preset !== undefined && preset !== '' ? Promise.resolve(preset) : startPostgres(state, root, publish),
        startS3(state, root, publish),
        sel.needsRadosgw ? startCeph(state, root, publish) : Promise.resolve(undefined),
      ]);
      if (pgRes.status === 'rejected') throw pgRes.reason;
      if (s3Res.status === 'rejected') throw s3Res.reason;
      if (rgwRes.status === 'rejected') throw rgwRes.reason;
      const pgUrl = pgRes.value;
      const s3 = s3Res.value;
      const rgw = rgwRes.value;
      Object.assign(env, {
        OBJECTFS_TEST_PG_URL: pgUrl,
        OBJECTFS_TEST_S3_ENDPOINT: s3.endpoint,
        OBJECTFS_TEST_S3_BUCKET: BUCKET,
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_REGION: 'us-east-1',
      });
      delete env['AWS_SESSION_TOKEN'];
      delete env['AWS_PROFILE'];
      if (rgw !== undefined) {
        Object.assign(env, {
          OBJECTFS_TEST_RGW_ENDPOINT: rgw.endpoint,
          OBJECTFS_TEST_RGW_BUCKET: rgw.bucket,
          OBJECTFS_TEST_RGW_ACCESS_KEY_ID: rgw.accessKeyId,
          OBJECTFS_TEST_RGW_SECRET_ACCESS_KEY: rgw.secretAccessKey,
        });
      }
      note(
        `PostgreSQL ${preset ? '(preset) ' : ''}${pgUrl}, s3rver ${s3.endpoint} bucket ${BUCKET}` +
          `${rgw !== undefined ? `, radosgw ${rgw.endpoint} bucket ${rgw.bucket} (cluster up in ${rgw.startMs} ms)` : ''} ` +
          `(${Date.now() - started} ms); ${sel.files.length} test file(s)`,
      );
    }
    if (interrupted === undefined) {
      code = await runNodeTest(sel, env, state, publish, summary, (c) => (testChild = c));
      testChild = undefined;
    }
  } catch (e) {
    if (!(e instanceof BedError)) throw e;
    process.stderr.write(`\n[test bed] FAILED TO START: ${e.message}\n`);
    code = 2;
  } finally {
    warnings = finish();
  }
  if (interrupted !== undefined) code = 128 + signalNumber(interrupted);
  if (code === 0 && (summary.fail === undefined || summary.fail > 0)) code = 1; // no summary = not a pass
  for (const w of warnings) note(`teardown: ${w}`);
  // Node 20 prints a "failing tests" recap after the summary; whoever reads the tail then needs
  // a plain count line as the last line.
  if (summary.pass !== undefined && (warnings.length > 0 || summary.endsWithSummary !== true)) {
    process.stdout.write(`${summary.pass} passed, ${summary.fail ?? 0} failed\n`);
  }
  return code;
}

process.exitCode = await main().catch((e: unknown) => {
  const msg = e instanceof BedError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e);
  process.stderr.write(`[test bed] ${msg}\n`);
  return 2;
});
