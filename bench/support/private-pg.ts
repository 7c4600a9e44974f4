/**
 * A private PostgreSQL server for one benchmark run: initdb into the bed's temp root, started on
 * a free 127.0.0.1 port with its unix socket in the same directory (test/support/pg-cluster.ts).
 *
 * Unlike the test bed (test/support/run-tests.ts, which runs with fsync=off), this one keeps the
 * server's normal durability settings: fsync on, synchronous_commit as given (default on), so a
 * commit waits for its WAL flush as it would in production. Stopping and removal are the bed's
 * job (bed.ts), which also covers signals and a killed process.
 */
import { join } from 'node:path';
import { startPgCluster } from '../../test/support/pg-cluster.js';
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
  const server = await startPgCluster({
    dir: join(bed.root, 'pg'), settings, binEnv: 'OBJECTFS_BENCH_PG_BIN', fail: pgFail, onCluster: (pg) => bed.setPg(pg),
  });
  return { url: server.url, dataDir: server.cluster.dataDir, settings: { ...settings } };
}
