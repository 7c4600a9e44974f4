/**
 * A PostgreSQL server of one test file's own, which the test may stop and start (outages):
 * the test bed's shared server must never go down under other test files. Lives in a private
 * bed (private-bed.ts), so it is stopped and removed on every exit, a crash of the test
 * process included.
 */
import { join } from 'node:path';
import { startPgCluster } from './pg-cluster.js';
import { createPrivateBed } from './private-bed.js';

export interface RestartablePg {
  /** Superuser URL of its `postgres` database (trust authentication: any password is accepted). */
  readonly url: string;
  /** Stops the server (immediate mode, like a crash). */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it and removes its files; idempotent. */
  finish(): void;
}

export async function startRestartablePg(label: string): Promise<RestartablePg> {
  const bed = createPrivateBed(`objectfs-${label}-`);
  try {
    const pg = await startPgCluster({
      dir: join(bed.root, 'pg'), binEnv: 'OBJECTFS_TEST_PG_BIN', settings: { fsync: 'off' },
      fail: (m) => new Error(`${m}: run bash scripts/setup.sh`),
      onCluster: (c) => bed.setPg(c),
    });
    return { url: pg.url, stop: () => pg.stop(), start: () => pg.start(), finish: () => { bed.finish(); } };
  } catch (err) {
    bed.finish();
    throw err;
  }
}
