/**
 * Loading a dump (dump-codec.ts) into an empty database: the schema is created at the dump's
 * schema version, the rows go in with multi-row inserts inside one transaction (the volume
 * row last), then the migrations this build knows beyond the dump's run as for any volume.
 * A database holding any ObjectFS table is refused. If the load fails, what it created is
 * dropped again, so the database is left as empty as it was found.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { MIGRATIONS } from '../../migrations/index.js';
import type { Database } from './schema.js';
import { migrateTo, migrateToLatest, SCHEMA_VERSION } from './migrate.js';
import { dropSchema } from './drop-schema.js';
import { decodeRow, DumpFormatError, parseBodyLine, parseHeader, type DumpHeader, type DumpTable } from './dump-codec.js';
import { DUMPED_TABLES, FOLDED_TABLES } from './dump-tables.js';
import { columnsOf, DumpRefusedError } from './dump-writer.js';

/** Rows per INSERT (one array parameter per column, so no parameter limit applies). */
const BATCH_ROWS = 5000;

export interface LoadSummary {
  /** Schema version of the dump. */
  readonly schema: number;
  /** Schema version after the migrations that followed the load. */
  readonly migratedTo: number;
  readonly rows: Readonly<Record<string, number>>;
  /** Directory entries loaded (rows of `edge`). */
  readonly entries: number;
}

type Tx = Transaction<Database>;

/** Refuses a dump whose migrations are not a prefix of this build's. */
function checkMigrations(header: DumpHeader): void {
  const known = Object.keys(MIGRATIONS);
  if (header.schema > SCHEMA_VERSION) {
    throw new DumpRefusedError(`the dump was taken at schema ${header.schema}, newer than this build knows (${SCHEMA_VERSION}): load it with a newer objectfs`);
  }
  header.migrations.forEach((name, i) => {
    if (known[i] !== name) throw new DumpRefusedError(`the dump's migration ${i + 1} is "${name}", this build's is "${String(known[i])}": not a dump of this program's schema`);
  });
  if (header.schema < 1) throw new DumpFormatError('the dump was taken of an unformatted database');
}

/** Inserts one batch of decoded rows with one unnest() per column. */
async function insertBatch(tx: Tx, table: string, def: DumpTable, rows: unknown[][]): Promise<void> {
  const columns = def.columns.map(([, type], i) => sql`${rows.map((r) => r[i])}::${sql.raw(type)}[]`);
  await sql`INSERT INTO ${sql.table(table)} (${sql.join(def.columns.map(([name]) => sql.ref(name)))})
    SELECT * FROM unnest(${sql.join(columns)})`.execute(tx);
}

/** Moves every sequence of the loaded tables (dropped_chunk.seq) past the loaded values. */
async function resetSequences(tx: Tx, tables: readonly string[]): Promise<void> {
  for (const t of tables) {
    const { rows } = await sql<{ name: string; seq: string }>`
      SELECT a.attname AS name, pg_get_serial_sequence(quote_ident(${t}), a.attname) AS seq FROM pg_attribute a
      WHERE a.attrelid = to_regclass(quote_ident(${t})) AND a.attnum > 0 AND NOT a.attisdropped
        AND pg_get_serial_sequence(quote_ident(${t}), a.attname) IS NOT NULL`.execute(tx);
    for (const r of rows) {
      await sql`SELECT setval(${r.seq}::regclass, coalesce((SELECT max(${sql.ref(r.name)}) FROM ${sql.table(t)}), 0) + 1, false)`.execute(tx);
    }
  }
}

/**
 * Checks the header's tables against the schema just created: each must be a dumped table
 * that exists there with those columns and types. The types used in the insert's casts are
 * the catalog's, so nothing of the file reaches the SQL but values and quoted names.
 */
async function checkTables(tx: Tx, header: DumpHeader): Promise<Record<string, DumpTable>> {
  const checked: Record<string, DumpTable> = {};
  for (const [t, def] of Object.entries(header.tables)) {
    if (!(DUMPED_TABLES as readonly string[]).includes(t)) throw new DumpFormatError(`the dump holds table "${t}", which this build does not load`);
    const actual = await columnsOf(tx, t);
    if (actual === undefined) throw new DumpFormatError(`the dump holds table "${t}", which schema ${header.schema} does not have`);
    const types = new Map(actual.columns.map(([n, ty]) => [n, ty]));
    for (const [name, type] of def.columns) {
      if (types.get(name) !== type) throw new DumpFormatError(`column ${t}.${name} is ${type} in the dump, ${types.get(name) ?? 'absent'} in schema ${header.schema}`);
    }
    checked[t] = { columns: def.columns.map(([name]) => [name, types.get(name) as string] as const), key: actual.key };
  }
  return checked;
}

/** Reads the body (rows and trailer) into the schema inside `tx`; returns the rows per table. */
async function loadRows(tx: Tx, dumped: DumpHeader, lines: AsyncIterator<string>): Promise<Record<string, number>> {
  const header = { ...dumped, tables: await checkTables(tx, dumped) };
  const tables = Object.keys(header.tables);
  // Triggers keep derived state (the usage journal) that the dump already holds: off while the
  // rows go in. The load created these tables, so it owns them; ALTER is transactional.
  for (const t of tables) await sql`ALTER TABLE ${sql.table(t)} DISABLE TRIGGER USER`.execute(tx);
  // The new schema's seed rows (the counters of 0001) are replaced by the dump's.
  for (const t of tables) await sql`DELETE FROM ${sql.table(t)}`.execute(tx);
  const counts: Record<string, number> = Object.fromEntries(tables.map((t) => [t, 0]));
  let batch: unknown[][] = [];
  let batchTable: string | undefined;
  const flush = async (): Promise<void> => {
    const def = batchTable === undefined ? undefined : header.tables[batchTable];
    if (batchTable !== undefined && def !== undefined && batch.length > 0) await insertBatch(tx, batchTable, def, batch);
    batch = [];
  };
  let lineNo = 1;
  for (;;) {
    const next = await lines.next();
    if (next.done === true) throw new DumpFormatError(`the dump ends after line ${lineNo} without its end marker: it is truncated`);
    lineNo++;
    if (next.value === '') continue;
    const line = parseBodyLine(next.value, lineNo);
    if ('end' in line) {
      await flush();
      for (const t of tables) {
        if ((line.rows[t] ?? 0) !== counts[t]) throw new DumpFormatError(`the end marker counts ${line.rows[t] ?? 0} rows of ${t}, the dump holds ${counts[t]}: it is damaged`);
      }
      const extra = await lines.next();
      if (extra.done !== true && extra.value.trim() !== '') throw new DumpFormatError(`line ${lineNo + 1} follows the end marker: not one dump`);
      for (const t of tables) await sql`ALTER TABLE ${sql.table(t)} ENABLE TRIGGER USER`.execute(tx);
      return counts;
    }
    const def = header.tables[line.t];
    if (def === undefined) throw new DumpFormatError(`line ${lineNo} is a row of ${line.t}, a table the header does not name`);
    if (line.t !== batchTable || batch.length >= BATCH_ROWS) {
      await flush();
      batchTable = line.t;
    }
    batch.push(decodeRow(line, def.columns));
    counts[line.t] = (counts[line.t] ?? 0) + 1;
  }
}

/** Refuses a database that holds any ObjectFS table (a volume, or the remains of one). */
async function checkEmpty(db: Kysely<Database>, displayUrl: string): Promise<void> {
  const { rows } = await sql<{ ok: boolean }>`SELECT to_regclass('kysely_migration') IS NULL AND to_regclass('volume') IS NULL AND to_regclass('node') IS NULL AS ok`.execute(db);
  if (rows[0]?.ok !== true) {
    throw new DumpRefusedError(`${displayUrl} is not empty (it holds ObjectFS tables): load needs a database that was never formatted`);
  }
}

/**
 * Loads the dump whose lines `lines` yields (header first) into the empty database `db`.
 * `displayUrl` names it in messages.
 */
export async function loadDatabase(db: Kysely<Database>, lines: AsyncIterable<string>, displayUrl = 'the database'): Promise<LoadSummary> {
  await checkEmpty(db, displayUrl);
  const it = lines[Symbol.asyncIterator]();
  const first = await it.next();
  const header = parseHeader(first.done === true ? undefined : first.value);
  checkMigrations(header);
  let rows: Record<string, number>;
  try {
    await migrateTo(db, header.migrations[header.migrations.length - 1] as string);
    rows = await db.transaction().execute(async (tx) => {
      const counts = await loadRows(tx, header, it);
      for (const t of FOLDED_TABLES) {
        // Empty anyway (its trigger was off); a journal left by a seed migration would double count.
        const { rows: ok } = await sql<{ ok: boolean }>`SELECT to_regclass(quote_ident(${t})) IS NOT NULL AS ok`.execute(tx);
        if (ok[0]?.ok === true) await sql`DELETE FROM ${sql.table(t)}`.execute(tx);
      }
      await resetSequences(tx, Object.keys(header.tables));
      return counts;
    });
  } catch (err) {
    // The database was empty: every ObjectFS object in it is this load's.
    await db.transaction().execute((tx) => dropSchema(tx)).catch(() => undefined);
    throw err;
  }
  const applied = await migrateToLatest(db);
  return { schema: header.schema, migratedTo: header.schema + applied.length, rows, entries: rows.edge ?? 0 };
}
