/**
 * A private PostgreSQL cluster in a directory of the caller's: initdb, start on a port, restart
 * on the same port (fault tests), stop. Used by the benchmarks (bench/support/private-pg.ts)
 * and the multi-host tests, which run it in a "server host" network namespace. Stopping it on
 * every exit is the bed's job (private-bed.ts): `onCluster` tells the bed as soon as it may exist.
 *
 * initdb and postgres refuse to run as root; as root they run as the `postgres` user.
 */
import { appendFileSync, chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findPgBin, freePort, pgTool, userIds, type Fail } from './pg-tools.js';
import type { PgCluster } from './teardown.js';

export interface PgClusterOptions {
  /** Directory for the cluster (created; must not exist). */
  readonly dir: string;
  /** Address to listen on (default 127.0.0.1). */
  readonly listen?: string;
  /** Fixed port (default: a free one on 127.0.0.1). */
  readonly port?: number;
  /** Network namespace to run in. */
  readonly netns?: string;
  /** Further client networks (CIDR) allowed to connect without a password. */
  readonly trustNetwork?: string;
  /** `-c name=value` settings. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Environment variable naming the PostgreSQL bin directory. */
  readonly binEnv: string;
  readonly fail: Fail;
  readonly onCluster: (pg: PgCluster) => void;
}

export interface PgServer {
  /** Superuser URL of the `postgres` database. */
  readonly url: string;
  readonly cluster: PgCluster;
  /**
   * Stops the server: 'immediate' (the default) is like a crash, committed work is in the WAL;
   * 'fast' is an administrator's restart (clients are told and disconnected, a checkpoint).
   */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same address and port. */
  start(): Promise<void>;
}

export async function startPgCluster(options: PgClusterOptions): Promise<PgServer> {
  const { dir, fail } = options;
  mkdirSync(dir, { mode: 0o700 });
  const runAs = process.getuid?.() === 0 ? 'postgres' : undefined;
  if (runAs !== undefined) {
    const { uid, gid } = userIds(runAs, fail);
    chownSync(dir, uid, gid);
  }
  const pg: PgCluster = {
    pgCtl: join(findPgBin(options.binEnv, fail), 'pg_ctl'), dataDir: join(dir, 'data'),
    ...(runAs ? { runAs } : {}), ...(options.netns ? { netns: options.netns } : {}),
  };
  options.onCluster(pg);
  await pgTool(pg, 'initdb', ['-D', pg.dataDir, '-U', 'postgres', '-A', 'trust', '--no-instructions', '-E', 'UTF8', '--locale=C'], fail);
  if (options.trustNetwork !== undefined) appendFileSync(join(pg.dataDir, 'pg_hba.conf'), `host all all ${options.trustNetwork} trust\n`);
  const log = join(dir, 'server.log');
  const listen = options.listen ?? '127.0.0.1';
  const extra = Object.entries(options.settings ?? {}).map(([k, v]) => `-c ${k}=${v}`).join(' ');
  const startOn = (port: number) => pgTool(pg, 'pg_ctl', [
    '-D', pg.dataDir, '-l', log, '-w', '-t', '60',
    '-o', `-p ${port} -k ${dir} -c listen_addresses=${listen} -c max_connections=100 ${extra}`.trim(), 'start',
  ], fail);
  let port = options.port;
  for (let attempt = 1; ; attempt++) {
    port = options.port ?? await freePort();
    try {
      await startOn(port);
      break;
    } catch (e) {
      const logText = existsSync(log) ? readFileSync(log, 'utf8') : '';
      if (options.port === undefined && attempt < 3 && /could not bind|Address already in use/.test(logText)) continue;
      const tail = logText.trim().split('\n').slice(-15).join('\n  ');
      throw new Error(`${(e as Error).message}\n  server.log:\n  ${tail}`);
    }
  }
  const fixedPort = port;
  return {
    url: `postgres://postgres@${listen}:${fixedPort}/postgres`,
    cluster: pg,
    stop: (mode = 'immediate') => pgTool(pg, 'pg_ctl', ['-D', pg.dataDir, '-m', mode, '-w', '-t', '30', 'stop'], fail),
    start: () => startOn(fixedPort),
  };
}
