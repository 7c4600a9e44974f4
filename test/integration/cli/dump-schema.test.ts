/**
 * `objectfs load` and schema versions, on PGlite and PostgreSQL as a user runs them: a dump
 * of an older schema (here: schema 4, before `volume.destroying` and the `job` table; made
 * from a current dump by removing what migrations 0005 and 0006 added) loads at its version
 * and is migrated to this build's; a dump of a newer schema, or of migrations this build does
 * not know, or whose column types differ from the schema it names, is refused; and the dump of the result equals the original
 * (same rows, same values), so dump → load → dump is a fixed point.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliResult } from '../../support/cli.js';
import { freshPgDatabase, freshPgliteUrl } from '../../support/pg.js';

let dir: string;
let sourceUrl: string;
let current: string[];
const cleanups: (() => Promise<unknown>)[] = [];

function succeeded(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  return r;
}

interface Header { schema: number; migrations: string[]; taken: string; tables: Record<string, { columns: [string, string][]; key: string[] }> }

/** Lines without the header's time, the comparable part of a dump. */
function body(lines: readonly string[]): string[] {
  const h = JSON.parse(lines[0] as string) as Header;
  return [JSON.stringify({ ...h, taken: '' }), ...lines.slice(1)];
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dump-schema-'));
  const db = await freshPgliteUrl('dump-schema-src');
  cleanups.push(() => db.cleanup());
  sourceUrl = db.url;
  succeeded(await runCli(['format', sourceUrl, 'old', '--storage', `file://${dir}/blocks`, '--capacity', '1G']), 'format');
  const file = join(dir, 'current.jsonl');
  succeeded(await runCli(['dump', sourceUrl, file]), 'dump');
  current = (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '');
});

after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Columns of dumped tables that migrations after 0004 added, by table. */
const ADDED_AFTER_4: Readonly<Record<string, readonly string[]>> = {
  volume: ['destroying'], // 0005
  delfile: ['name'], // 0007
};
/** Dumped tables that migrations after 0004 created. */
const TABLES_AFTER_4: readonly string[] = ['dir_quota', 'staged_slice']; // 0008, 0009

/** The current dump rewritten as schema 4 would have written it: without what later migrations added. */
function asSchema4(lines: readonly string[]): string[] {
  const h = JSON.parse(lines[0] as string) as Header;
  const dropAt: Record<string, number[]> = {};
  const tables: Header['tables'] = {};
  for (const [table, spec] of Object.entries(h.tables)) {
    if (TABLES_AFTER_4.includes(table)) continue;
    const added = ADDED_AFTER_4[table] ?? [];
    const at = spec.columns.flatMap(([name], i) => (added.includes(name) ? [i] : []));
    assert.equal(at.length, added.length, `the current ${table} table has ${added.join(', ')}`);
    dropAt[table] = at;
    tables[table] = { ...spec, columns: spec.columns.filter((_, i) => !at.includes(i)) };
  }
  const header = { ...h, schema: 4, migrations: h.migrations.slice(0, 4), tables };
  return [JSON.stringify(header), ...lines.slice(1).flatMap((l) => {
    const row = JSON.parse(l) as { t?: string; r?: unknown[]; end?: true; rows?: Record<string, number> };
    if (row.end === true) return [JSON.stringify({ ...row, rows: Object.fromEntries(Object.entries(row.rows ?? {}).filter(([t]) => !TABLES_AFTER_4.includes(t))) })];
    if (row.t === undefined) return [l];
    if (TABLES_AFTER_4.includes(row.t)) return [];
    const at = dropAt[row.t] ?? [];
    return [at.length === 0 ? l : JSON.stringify({ t: row.t, r: row.r?.filter((_, i) => !at.includes(i)) })];
  })];
}

describe('load and schema versions', () => {
  for (const kind of ['pglite', 'postgres'] as const) {
    test(`${kind}: a schema-4 dump loads at schema 4, is migrated to the latest, and dumps back to the same rows`, async () => {
      const target = kind === 'pglite' ? await freshPgliteUrl('dump-schema-old') : await freshPgDatabase('dump-schema-old');
      cleanups.push(() => ('drop' in target ? target.drop() : target.cleanup()));
      const old = join(dir, `schema4-${kind}.jsonl`);
      await writeFile(old, `${asSchema4(current).join('\n')}\n`);
      const r = succeeded(await runCli(['load', target.url, old, '--json']), 'load of the schema-4 dump');
      const summary = JSON.parse(r.stdout) as { schema: number; migratedTo: number };
      const latest = (JSON.parse(current[0] as string) as Header).schema;
      assert.deepEqual([summary.schema, summary.migratedTo], [4, latest]);
      const status = JSON.parse(succeeded(await runCli(['status', target.url, '--json']), 'status').stdout) as { volume: { name: string; formatVersion: number; capacity: string | number } };
      assert.equal(status.volume.name, 'old');
      assert.equal(Number(status.volume.capacity), 2 ** 30, 'settings survive');
      const again = join(dir, `again-${kind}.jsonl`);
      succeeded(await runCli(['dump', target.url, again]), 'dump of the loaded volume');
      const lines = (await readFile(again, 'utf8')).split('\n').filter((l) => l !== '');
      assert.deepEqual(body(lines), body(current), 'dump → load → dump changes nothing');
      const fsck = await runCli(['fsck', target.url, '--json', '--no-progress']);
      assert.equal((JSON.parse(fsck.stdout) as { healthy: boolean }).healthy, true, fsck.stdout);
    });
  }

  test('a dump of a newer schema, or of migrations this build does not know, is refused and nothing is left', async () => {
    const target = await freshPgliteUrl('dump-schema-new');
    cleanups.push(() => target.cleanup());
    const h = JSON.parse(current[0] as string) as Header;
    const newer = join(dir, 'newer.jsonl');
    await writeFile(newer, [JSON.stringify({ ...h, schema: h.schema + 1, migrations: [...h.migrations, '9999-future'] }), ...current.slice(1)].join('\n'));
    const r1 = await runCli(['load', target.url, newer]);
    assert.equal(r1.code, 1);
    assert.match(r1.stderr, new RegExp(`^objectfs: the dump was taken at schema ${h.schema + 1}, newer than this build knows \\(${h.schema}\\)`, 'm'));
    const foreign = join(dir, 'foreign.jsonl');
    await writeFile(foreign, [JSON.stringify({ ...h, migrations: ['0001-something-else', ...h.migrations.slice(1)] }), ...current.slice(1)].join('\n'));
    const r2 = await runCli(['load', target.url, foreign]);
    assert.equal(r2.code, 1);
    assert.match(r2.stderr, /^objectfs: the dump's migration 1 is "0001-something-else", this build's is "0001-initial"/m);
    const notDump = join(dir, 'not-a-dump.txt');
    await writeFile(notDump, 'hello\n');
    const r3 = await runCli(['load', target.url, notDump]);
    assert.equal(r3.code, 1);
    assert.match(r3.stderr, /^objectfs: the first line is not JSON: not an ObjectFS dump$/m);
    const tampered = join(dir, 'tampered.jsonl');
    const volume = h.tables['volume'];
    assert.ok(volume !== undefined);
    const evil = { ...h, tables: { ...h.tables, volume: { ...volume, columns: volume.columns.map(([n, t]) => (n === 'name' ? [n, 'text[]); DROP TABLE node; --'] : [n, t])) } } };
    await writeFile(tampered, [JSON.stringify(evil), ...current.slice(1)].join('\n'));
    const r4 = await runCli(['load', target.url, tampered]);
    assert.equal(r4.code, 1);
    assert.match(r4.stderr, /^objectfs: column volume\.name is text\[\]\); DROP TABLE node; -- in the dump, text in schema \d+$/m);
    succeeded(await runCli(['load', target.url, join(dir, 'current.jsonl')]), 'the same database takes a good dump afterwards');
  });

  test('dump refuses a database without a volume; flags and arguments are checked', async () => {
    const empty = await freshPgDatabase('dump-schema-empty');
    cleanups.push(() => empty.drop());
    const r = await runCli(['dump', empty.url, join(dir, 'nothing.jsonl')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^objectfs: the database holds no ObjectFS volume: nothing to dump$/m);
    const noFile = await runCli(['load', empty.url]);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /^objectfs: missing FILE/m);
  });
});
