/**
 * Opens the metadata database named by a META_URL and wraps it in Kysely.
 *
 *  - `postgres://user[:password]@host[:port]/db` (or `postgresql://`): a pg Pool, the shared
 *    multi-host engine.
 *  - `pglite:///abs/dir`: PostgreSQL in-process (PGlite) stored in a local directory, for one
 *    host and one process at a time (guarded by a lock file); `pglite://memory` keeps it in
 *    memory (tests).
 *
 * Both go through pg.Pool and Kysely's PostgresDialect, so the SQL, the migrations and the
 * error codes are the same. int8 columns are parsed as bigint everywhere.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import { PGlite } from '@electric-sql/pglite';
import { createPgConfig } from '@electric-sql/pglite/node-postgres';
import type { Database } from './schema.js';
import { redactUrl } from '../config/redact.js';
import { acquireDirLock, type DirLock } from './dir-lock.js';
import { seedDataDir } from './pglite-seed.js';
import { listenChannel, type ChannelHandlers, type ChannelListener } from './listener.js';
import { StatementNames, useStatementNames } from './prepared-statements.js';

const INT8_OID = 20;

/** The META_URL could not be understood; the message says what is accepted. */
export class MetaUrlError extends Error {
  override readonly name = 'MetaUrlError';
}

/** An embedded database directory that does not exist (only format creates one). */
export class MetaNotFoundError extends Error {
  override readonly name = 'MetaNotFoundError';
}

/** The database could not be reached or opened. */
export class MetaUnavailableError extends Error {
  override readonly name = 'MetaUnavailableError';
  readonly errno = 5; // EIO, when it reaches a filesystem caller
}

export type MetaUrl =
  | { readonly kind: 'postgres'; readonly url: string }
  | { readonly kind: 'pglite'; readonly dir: string | undefined };

/** Parses a META_URL (pure). */
export function parseMetaUrl(url: string): MetaUrl {
  const accepted = 'expected postgres://user@host[:port]/database or pglite:///absolute/dir (or pglite://memory)';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MetaUrlError(`invalid metadata URL "${redactUrl(url)}": ${accepted}`);
  }
  if (u.protocol === 'postgres:' || u.protocol === 'postgresql:') {
    if (!u.hostname && !u.searchParams.get('host')) throw new MetaUrlError(`metadata URL "${redactUrl(url)}" names no host: ${accepted}`);
    if (u.pathname.length <= 1) throw new MetaUrlError(`metadata URL "${redactUrl(url)}" names no database: ${accepted}`);
    return { kind: 'postgres', url };
  }
  if (u.protocol === 'pglite:') {
    if (u.host === 'memory' && (u.pathname === '' || u.pathname === '/')) return { kind: 'pglite', dir: undefined };
    if (u.host !== '' || !u.pathname.startsWith('/') || u.pathname.length < 2) {
      throw new MetaUrlError(`metadata URL "${url}" must name an absolute directory, like pglite:///var/lib/objectfs/meta`);
    }
    return { kind: 'pglite', dir: decodeURIComponent(u.pathname) };
  }
  throw new MetaUrlError(`unsupported metadata URL scheme "${u.protocol}" in "${redactUrl(url)}": ${accepted}`);
}

export interface OpenDatabaseOptions {
  /** Pool size for PostgreSQL (default 10). */
  readonly maxConnections?: number;
  /** Connection timeout in ms (default 10 s). */
  readonly connectTimeoutMs?: number;
  /** Create an embedded database that does not exist yet (format only). */
  readonly create?: boolean;
}

/** An open metadata database. */
export interface OpenDatabase {
  readonly db: Kysely<Database>;
  readonly kind: MetaUrl['kind'];
  /** The URL with secrets masked, for messages. */
  readonly displayUrl: string;
  /**
   * LISTEN on a channel over a connection of its own (PostgreSQL only; PGlite serves one
   * process, which has nobody to hear from).
   */
  readonly listen?: (channel: string, handlers: ChannelHandlers) => ChannelListener;
  close(): Promise<void>;
}

const typeParsers = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => BigInt(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** Opens the database and checks that it answers. */
export async function openDatabase(url: string, options: OpenDatabaseOptions = {}): Promise<OpenDatabase> {
  const parsed = parseMetaUrl(url);
  const displayUrl = redactUrl(url);
  if (parsed.kind === 'postgres') {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'objectfs',
      types: typeParsers,
    });
    // An idle client that loses its server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    // Nor may a checked-out one (inside a transaction, between statements, fsck/gc's pinned scan
    // session): pg emits its loss as an 'error' event, which would be unhandled. The loss reaches
    // the caller through its next query (a retried connection error), and the pool drops the
    // broken client on release.
    const names = new StatementNames();
    pool.on('connect', (client) => {
      client.on('error', () => undefined);
      useStatementNames(client, names);
    });
    await probe(pool, displayUrl);
    return {
      db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), kind: 'postgres', displayUrl,
      listen: (channel, handlers) => listenChannel(url, channel, handlers),
      close: () => pool.end(),
    };
  }
  let lock: DirLock | undefined;
  if (parsed.dir !== undefined) {
    if (!options.create && !existsSync(join(parsed.dir, 'PG_VERSION'))) {
      throw new MetaNotFoundError(`no embedded database at ${parsed.dir}: run "objectfs format" first`);
    }
    await mkdir(parsed.dir, { recursive: true });
    lock = await acquireDirLock(parsed.dir);
    if (!existsSync(join(parsed.dir, 'PG_VERSION'))) await seedDataDir(parsed.dir);
  }
  let lite: PGlite;
  try {
    lite = parsed.dir === undefined ? new PGlite() : new PGlite(parsed.dir);
    await lite.waitReady;
  } catch (err) {
    await lock?.release();
    throw new MetaUnavailableError(`cannot open embedded database ${displayUrl}: ${(err as Error).message}`, { cause: err });
  }
  // The adapter gives one connection that must never be destroyed: Kysely releases clients
  // without an error, so a pool of exactly one client stays alive for the process.
  const pool = new pg.Pool({ ...createPgConfig(lite), max: 1, types: typeParsers });
  const names = new StatementNames();
  pool.on('connect', (client) => useStatementNames(client, names));
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    kind: 'pglite',
    displayUrl,
    async close() {
      await pool.end();
      await lite.close();
      await lock?.release();
    },
  };
}

async function probe(pool: pg.Pool, displayUrl: string): Promise<void> {
  try {
    const client = await pool.connect();
    client.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    const e = err as { code?: string; message?: string };
    throw new MetaUnavailableError(`cannot connect to PostgreSQL at ${displayUrl}: ${e.code ? `${e.code} ` : ''}${e.message ?? String(err)}`, { cause: err });
  }
}
