/**
 * Running a private PostgreSQL cluster from Debian's binaries, shared by the test bed
 * (run-tests.ts) and the benchmarks (bench/support/private-pg.ts). initdb and postgres refuse to
 * run as root; as root they run as the `postgres` user. Errors are built by the caller's
 * `fail`, so each keeps its own error type and hints.
 */
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { PgCluster } from './teardown.js';

const execFileP = promisify(execFile);

export type Fail = (message: string) => Error;

/** A TCP port on 127.0.0.1 that was free a moment ago (callers retry on a lost race). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no free port'))));
    });
  });
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The directory holding initdb and pg_ctl: `$envVar` if set, else the newest
 * /usr/lib/postgresql/N/bin, else (with `searchPath`) PATH.
 */
export function findPgBin(envVar: string, fail: Fail, searchPath = false): string {
  const candidates: string[] = [];
  const fromEnv = process.env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') candidates.push(fromEnv);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debian, v, 'bin')));
  }
  if (searchPath) candidates.push(...(process.env['PATH'] ?? '').split(':').filter((d) => d !== ''));
  for (const dir of candidates) {
    if (isExecutable(join(dir, 'initdb')) && isExecutable(join(dir, 'pg_ctl'))) return dir;
  }
  throw fail(`PostgreSQL server binaries (initdb, pg_ctl) not found in ${debian}/<version>/bin${searchPath ? ' or PATH' : ''}`);
}

/** uid and gid of `user` (the cluster's owner when we are root). */
export function userIds(user: string, fail: Fail): { uid: number; gid: number } {
  const id = (flag: string): number => {
    const r = spawnSync('id', [flag, user], { encoding: 'utf8' });
    if (r.status !== 0) throw fail(`initdb refuses to run as root and user "${user}" does not exist`);
    return Number(r.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

/** The command prefix that runs a program in network namespace `netns` (and no other namespace). */
export function inNetns(netns: string | undefined): string[] {
  return netns === undefined ? [] : ['nsenter', `--net=/run/netns/${netns}`, '--'];
}

/**
 * Runs a PostgreSQL tool next to pg_ctl, as the cluster's user when we are root, in the
 * cluster's network namespace if it has one (a server started there listens there).
 */
export async function pgTool(pg: PgCluster, tool: string, args: readonly string[], fail: Fail): Promise<void> {
  const bin = join(dirname(pg.pgCtl), tool);
  const [cmd = bin, ...argv] = [...inNetns(pg.netns), ...(pg.runAs === undefined ? [bin] : ['runuser', '-u', pg.runAs, '--', bin]), ...args];
  try {
    await execFileP(cmd, argv, { cwd: '/', timeout: 120_000 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    throw fail(`${tool} failed: ${out === '' ? err.message : out}`);
  }
}
