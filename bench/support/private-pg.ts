/**
 * A private PostgreSQL server for one benchmark run: initdb into the bed's temp root, started on
 * a free 127.0.0.1 port with its unix socket in the same directory.
 *
 * Unlike the test bed (test/support/run-tests.ts, which runs with fsync=off), this one keeps the
 * server's normal durability settings: fsync on, synchronous_commit as given (default on), so a
 * commit waits for its WAL flush as it would in production. Stopping and removal are the bed's
 * job (bed.ts), which also covers signals and a killed process.
 *
 * initdb and postgres refuse to run as root; as root they run as the `postgres` user.
 */
import { execFile, spawnSync } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PgCluster } from '../../test/support/teardown.js';
import type { BenchBed } from './bed.js';

const execFileP = promisify(execFile);

export interface PrivatePostgres {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly dataDir: string;
  /** Server settings passed with -c (beyond port, socket and listen address). */
  readonly settings: Readonly<Record<string, string>>;
}

/** Directory holding initdb + pg_ctl: OBJECTFS_BENCH_PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
function findPgBin(): string {
  const candidates: string[] = [];
  const fromEnv = process.env['OBJECTFS_BENCH_PG_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') candidates.push(fromEnv);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debian, v, 'bin')));
  }
  for (const dir of candidates) {
    try {
      accessSync(join(dir, 'initdb'), constants.X_OK);
      accessSync(join(dir, 'pg_ctl'), constants.X_OK);
      return dir;
    } catch {
      // try the next candidate
    }
  }
  throw new Error(
    `PostgreSQL server binaries (initdb, pg_ctl) not found in ${debian}/<version>/bin: install postgresql ` +
      '(bash scripts/setup.sh), set OBJECTFS_BENCH_PG_BIN, or pass --pg-url to use a server you own',
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function userIds(user: string): { uid: number; gid: number } {
  const id = (flag: string): number => {
    const r = spawnSync('id', [flag, user], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`running as root, but user "${user}" (needed for initdb) does not exist`);
    return Number(r.stdout.trim());
  };
  return { uid: id('-u'), gid: id('-g') };
}

async function pgTool(pg: PgCluster, tool: string, args: readonly string[]): Promise<void> {
  const bin = join(pg.pgCtl, '..', tool);
  const [cmd, argv] = pg.runAs === undefined ? [bin, args] : ['runuser', ['-u', pg.runAs, '--', bin, ...args]];
  try {
    await execFileP(cmd, argv, { cwd: '/', timeout: 120_000 });
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string; message: string };
    const out = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim();
    throw new Error(`${tool} failed: ${out === '' ? err.message : out}`);
  }
}

/**
 * Creates and starts the server. `settings` become `-c name=value` (e.g. synchronous_commit);
 * durability-related ones are left at their defaults unless given.
 */
export async function startPrivatePostgres(bed: BenchBed, settings: Readonly<Record<string, string>> = {}): Promise<PrivatePostgres> {
  const pgDir = join(bed.root, 'pg');
  mkdirSync(pgDir, { mode: 0o700 });
  const runAs = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (runAs !== undefined) {
    const { uid, gid } = userIds(runAs);
    chownSync(pgDir, uid, gid);
  }
  const pg: PgCluster = { pgCtl: join(findPgBin(), 'pg_ctl'), dataDir: join(pgDir, 'data'), ...(runAs ? { runAs } : {}) };
  bed.setPg(pg);
  await pgTool(pg, 'initdb', ['-D', pg.dataDir, '-U', 'postgres', '-A', 'trust', '--no-instructions', '-E', 'UTF8', '--locale=C']);
  const log = join(pgDir, 'server.log');
  const extra = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const opts = `-p ${port} -k ${pgDir} -c listen_addresses=127.0.0.1 -c max_connections=100 ${extra}`.trim();
    try {
      await pgTool(pg, 'pg_ctl', ['-D', pg.dataDir, '-l', log, '-w', '-t', '60', '-o', opts, 'start']);
      return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dataDir: pg.dataDir, settings: { ...settings } };
    } catch (e) {
      const logText = existsSync(log) ? readFileSync(log, 'utf8') : '';
      if (attempt < 3 && /could not bind|Address already in use/.test(logText)) continue;
      const tail = logText.trim().split('\n').slice(-15).join('\n  ');
      throw new Error(`${(e as Error).message}\n  server.log:\n  ${tail}`);
    }
  }
}
