/**
 * Database helpers for tests. Each test file gets its own database (or PGlite directory) so
 * files can run in parallel. They use `pg` directly and never import from src/.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A database that exists until `drop()`. */
export interface FreshDatabase {
  /** Connection URL of the new database. */
  readonly url: string;
  /** Drops it, disconnecting leftover sessions; safe to call twice. */
  drop(): Promise<void>;
}

/** A PGlite data directory that exists until `cleanup()`. */
export interface FreshPglite {
  /** `pglite:///<absolute dir>` */
  readonly url: string;
  readonly dir: string;
  cleanup(): Promise<void>;
}

/** The server the test bed started (or the one the developer pointed it at). */
export function requirePgUrl(): string {
  const url = process.env['OBJECTFS_TEST_PG_URL'];
  if (url === undefined || url === '') {
    throw new Error(
      'OBJECTFS_TEST_PG_URL is not set: integration tests need the PostgreSQL that the test bed ' +
        'starts. Run them with `npm test` (or `bash scripts/test.sh integration`), not bare `node --test`.',
    );
  }
  return url;
}

/** `t_<label>_<nonce>`: lowercase, [a-z0-9_], at most 63 bytes (PostgreSQL's identifier limit). */
function databaseName(label: string): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 40);
  return `t_${clean}_${process.pid.toString(36)}${randomBytes(4).toString('hex')}`;
}

async function withAdmin<T>(baseUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  try {
    await client.connect();
  } catch (e) {
    throw new Error(`cannot reach PostgreSQL at ${baseUrl} (OBJECTFS_TEST_PG_URL); run \`npm test\``, { cause: e });
  }
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a uniquely named database on the test server (or on the server at `base`). */
export async function freshPgDatabase(label: string, base = requirePgUrl()): Promise<FreshDatabase> {
  const name = databaseName(label);
  await withAdmin(base, (c) => c.query(`CREATE DATABASE "${name}"`));
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => withAdmin(base, async (c) => void (await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`))),
  };
}

/** A fresh, empty directory for an embedded PGlite database. */
export async function freshPgliteUrl(label: string): Promise<FreshPglite> {
  const clean = label.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40);
  const dir = await mkdtemp(join(tmpdir(), `objectfs-pglite-${clean}-`));
  return {
    url: `pglite://${dir}`,
    dir,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
