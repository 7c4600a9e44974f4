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
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPgBin, freePort, pgTool, userIds } from '../../test/support/pg-tools.js';
import type { PgCluster } from '../../test/support/teardown.js';
import type { BenchBed } from './bed.js';

export interface PrivatePostgres {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly dataDir: string;
  /** Server settings passed with -c (beyond port, socket and listen address). */
  readonly settings: Readonly<Record<string, string>>;
}

const pgFail = (message: string): Error => new Error(
  `${message}: install postgresql (bash scripts/setup.sh), set OBJECTFS_BENCH_PG_BIN, or pass --pg-url to use a server you own`);

/**
 * Creates and starts the server. `settings` become `-c name=value` (e.g. synchronous_commit);
 * durability-related ones are left at their defaults unless given.
 */
export async function startPrivatePostgres(bed: BenchBed, settings: Readonly<Record<string, string>> = {}): Promise<PrivatePostgres> {
  const pgDir = join(bed.root, 'pg');
  mkdirSync(pgDir, { mode: 0o700 });
  const runAs = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (runAs !== undefined) {
    const { uid, gid } = userIds(runAs, pgFail);
    chownSync(pgDir, uid, gid);
  }
  const pg: PgCluster = { pgCtl: join(findPgBin('OBJECTFS_BENCH_PG_BIN', pgFail), 'pg_ctl'), dataDir: join(pgDir, 'data'), ...(runAs ? { runAs } : {}) };
  bed.setPg(pg);
  await pgTool(pg, 'initdb', ['-D', pg.dataDir, '-U', 'postgres', '-A', 'trust', '--no-instructions', '-E', 'UTF8', '--locale=C'], pgFail);
  const log = join(pgDir, 'server.log');
  const extra = Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const opts = `-p ${port} -k ${pgDir} -c listen_addresses=127.0.0.1 -c max_connections=100 ${extra}`.trim();
    try {
      await pgTool(pg, 'pg_ctl', ['-D', pg.dataDir, '-l', log, '-w', '-t', '60', '-o', opts, 'start'], pgFail);
      return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dataDir: pg.dataDir, settings: { ...settings } };
    } catch (e) {
      const logText = existsSync(log) ? readFileSync(log, 'utf8') : '';
      if (attempt < 3 && /could not bind|Address already in use/.test(logText)) continue;
      const tail = logText.trim().split('\n').slice(-15).join('\n  ');
      throw new Error(`${(e as Error).message}\n  server.log:\n  ${tail}`);
    }
  }
}
