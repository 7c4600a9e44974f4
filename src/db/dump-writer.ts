/**
 * Writing a dump (format: dump-codec.ts) of the whole metadata from one snapshot: a READ ONLY,
 * REPEATABLE READ transaction, so a dump of a busy volume is the state at one instant. Each
 * table is read in keyset pages in primary key order and each page is written with
 * back-pressure, so memory stays bounded by a page whatever the volume's size.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import { DUMP_FORMAT_VERSION, encodeRowLine, type DumpColumn, type DumpHeader, type DumpTable } from './dump-codec.js';
import { DUMPED_TABLES } from './dump-tables.js';

/** Rows read per query. */
const PAGE_ROWS = 2000;

/** A database that cannot be dumped (it holds no volume). */
export class DumpRefusedError extends Error {
  override readonly name = 'DumpRefusedError';
}

export interface DumpSummary {
  readonly schema: number;
  /** Rows written per table. */
  readonly rows: Readonly<Record<string, number>>;
  /** Directory entries (rows of `edge`): the size measure of a volume. */
  readonly entries: number;
  readonly taken: string;
}

type Tx = Transaction<Database>;

/** Writes a ready line (several lines), waiting for the stream to drain when it asks to. */
async function put(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Column names and types of `table` from the catalog, in table order; undefined when it does not exist. */
export async function columnsOf(tx: Tx, table: string): Promise<DumpTable | undefined> {
  const { rows: cols } = await sql<{ name: string; type: string }>`
    SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type FROM pg_attribute a
    WHERE a.attrelid = to_regclass(quote_ident(${table})) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`.execute(tx);
  if (cols.length === 0) return undefined;
  const { rows: key } = await sql<{ name: string }>`
    SELECT a.attname AS name FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord), pg_attribute a
    WHERE i.indrelid = to_regclass(quote_ident(${table})) AND i.indisprimary AND a.attrelid = i.indrelid AND a.attnum = k.attnum
    ORDER BY k.ord`.execute(tx);
  // Keyset paging needs a key; a dumped table without one is a schema mistake worth stopping on.
  if (key.length === 0) throw new Error(`table ${table} has no primary key: it cannot be dumped in pages`);
  return { columns: cols.map((c) => [c.name, c.type] as const), key: key.map((k) => k.name) };
}

/** The usage journal's sums, added to the counters it would be folded into. */
async function usageFold(tx: Tx): Promise<{ space: bigint; inodes: bigint }> {
  const { rows } = await sql<{ space: bigint; inodes: bigint }>`
    SELECT coalesce(sum(space), 0)::int8 AS space, coalesce(sum(inodes), 0)::int8 AS inodes FROM usage_delta`.execute(tx);
  return { space: rows[0]?.space ?? 0n, inodes: rows[0]?.inodes ?? 0n };
}

/**
 * The directory-quota journal's sums per quota'd directory (migration 0008), added to the
 * usage its fold would move into `dir_quota`. One row per quota, so bounded by their number.
 */
async function quotaFold(tx: Tx): Promise<Map<string, { space: bigint; inodes: bigint }>> {
  const { rows: present } = await sql<{ ok: boolean }>`SELECT to_regclass('quota_delta') IS NOT NULL AS ok`.execute(tx);
  if (present[0]?.ok !== true) return new Map();
  const { rows } = await sql<{ inode: bigint; space: bigint; inodes: bigint }>`
    SELECT inode, sum(space)::int8 AS space, sum(inodes)::int8 AS inodes FROM quota_delta GROUP BY inode`.execute(tx);
  return new Map(rows.map((r) => [String(r.inode), { space: r.space, inodes: r.inodes }]));
}

/** Streams every row of `table` into `out`; returns how many. */
async function dumpTable(tx: Tx, out: Writable, table: string, def: DumpTable, adjust?: (row: Record<string, unknown>) => void): Promise<number> {
  const cols = sql.join(def.columns.map(([name]) => sql.ref(name)));
  const keyCols = sql.join(def.key.map((k) => sql.ref(k)));
  const typeOf = new Map<string, string>(def.columns.map(([n, t]) => [n, t]));
  let after: unknown[] | undefined;
  let count = 0;
  for (;;) {
    const from = after === undefined
      ? sql`true`
      : sql`(${keyCols}) > (${sql.join(def.key.map((k, i) => sql`${after?.[i]}::${sql.raw(typeOf.get(k) ?? 'text')}`))})`;
    const { rows } = await sql<Record<string, unknown>>`
      SELECT ${cols} FROM ${sql.table(table)} WHERE ${from} ORDER BY ${keyCols} LIMIT ${PAGE_ROWS}`.execute(tx);
    if (rows.length === 0) return count;
    let text = '';
    for (const row of rows) {
      adjust?.(row);
      text += `${encodeRowLine(table, row, def.columns as DumpColumn[])}\n`;
    }
    await put(out, text);
    count += rows.length;
    const last = rows[rows.length - 1] as Record<string, unknown>;
    after = def.key.map((k) => last[k]);
    if (rows.length < PAGE_ROWS) return count;
  }
}

/**
 * Dumps the metadata of `db` into `out` (which it does not end) from one snapshot.
 * Refuses a database without a volume.
 */
export async function dumpDatabase(db: Kysely<Database>, out: Writable, now = new Date()): Promise<DumpSummary> {
  return db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute(async (tx) => {
    const present = await sql<{ ok: boolean }>`SELECT to_regclass('volume') IS NOT NULL AND to_regclass('kysely_migration') IS NOT NULL AS ok`.execute(tx);
    if (present.rows[0]?.ok !== true || (await tx.selectFrom('volume').select('id').executeTakeFirst()) === undefined) {
      throw new DumpRefusedError('the database holds no ObjectFS volume: nothing to dump');
    }
    const { rows: applied } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(tx);
    const tables: Record<string, DumpTable> = {};
    for (const t of DUMPED_TABLES) {
      const def = await columnsOf(tx, t);
      if (def !== undefined) tables[t] = def;
    }
    const header: DumpHeader = {
      objectfs: 'dump', version: DUMP_FORMAT_VERSION, schema: applied.length, migrations: applied.map((m) => m.name), taken: now.toISOString(), tables,
    };
    await put(out, `${JSON.stringify(header)}\n`);
    const fold = await usageFold(tx);
    const folded = (row: Record<string, unknown>): void => {
      if (row.name === 'used_space') row.value = (row.value as bigint) + fold.space;
      if (row.name === 'used_inodes') row.value = (row.value as bigint) + fold.inodes;
    };
    const quotas = await quotaFold(tx);
    const quotaFolded = (row: Record<string, unknown>): void => {
      const d = quotas.get(String(row.inode));
      if (d === undefined) return;
      row.used_space = (row.used_space as bigint) + d.space;
      row.used_inodes = (row.used_inodes as bigint) + d.inodes;
    };
    const adjusters: Record<string, (row: Record<string, unknown>) => void> = { counter: folded, dir_quota: quotaFolded };
    const rows: Record<string, number> = {};
    for (const [t, def] of Object.entries(tables)) rows[t] = await dumpTable(tx, out, t, def, adjusters[t]);
    await put(out, `${JSON.stringify({ end: true, rows })}\n`);
    return { schema: applied.length, rows, entries: rows.edge ?? 0, taken: header.taken };
  });
}
