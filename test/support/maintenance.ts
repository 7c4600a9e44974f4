/**
 * Helpers of the fsck/gc tests (test/integration/maintenance): files written and read through
 * a volume instance, SQL on a PostgreSQL volume's database, and fsck/gc through the CLI.
 */
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import pg from 'pg';
import type { Volume } from '../../src/volume/open-volume.js';
import { ROOT_CALLER } from './data-volume.js';
import { runCli, type CliResult } from './cli.js';

/** Creates `name` in directory `parent` holding `data` (committed); returns its inode. */
export async function writeFile(v: Volume, parent: number, name: string, data: Buffer): Promise<number> {
  const { fh, attr } = await v.vfs.create(ROOT_CALLER, parent, Buffer.from(name), 0o644, constants.O_RDWR);
  if (data.length > 0) await v.vfs.write(fh, 0, data);
  await v.vfs.release(fh);
  return attr.ino;
}

/** The whole content of inode `ino`. */
export async function readFile(v: Volume, ino: number): Promise<Buffer> {
  const length = (await v.vfs.getattr(ino)).length;
  const fh = await v.vfs.open(ROOT_CALLER, ino, constants.O_RDONLY);
  try {
    return length === 0 ? Buffer.alloc(0) : await v.vfs.read(fh, 0, length);
  } finally {
    await v.vfs.release(fh);
  }
}

/** Runs SQL statements on a PostgreSQL volume's database (to damage it on purpose). */
export async function sqlOn(metaUrl: string, statements: readonly string[]): Promise<pg.QueryResult[]> {
  const client = new pg.Client({ connectionString: metaUrl });
  await client.connect();
  try {
    const out: pg.QueryResult[] = [];
    for (const s of statements) out.push(await client.query(s));
    return out;
  } finally {
    await client.end();
  }
}

/** `objectfs <command> <metaUrl> … --json`, parsed, with the exit code checked. */
export async function cliJson<T>(args: readonly string[], expectCode: number): Promise<{ report: T; result: CliResult }> {
  const result = await runCli([...args, '--json'], {}, 300_000);
  assert.equal(result.code, expectCode, `objectfs ${args.join(' ')} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
  return { report: JSON.parse(result.stdout) as T, result };
}
