/** The dump's row encoding and line parsing (src/db/dump-codec.ts), and the table classification. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRow, decodeValue, DUMP_FORMAT_VERSION, DumpFormatError, encodeRowLine, encodeValue, parseBodyLine, parseHeader, type DumpColumn } from '../../../src/db/dump-codec.js';
import { DUMP_ROLES, DUMPED_TABLES, FOLDED_TABLES } from '../../../src/db/dump-tables.js';

const COLUMNS: readonly DumpColumn[] = [['inode', 'bigint'], ['name', 'bytea'], ['type', 'smallint'], ['info', 'jsonb'], ['note', 'text']];

test('bigint as decimal strings, exact beyond 2^53; bytea as base64; json as itself; null stays null', () => {
  const big = 2n ** 63n - 1n;
  const line = encodeRowLine('edge', { inode: big, name: Buffer.from([0, 47, 255]), type: 2, info: { a: [1, 'x'] }, note: null }, COLUMNS);
  assert.equal(line, `{"t":"edge","r":["9223372036854775807","AC//",2,{"a":[1,"x"]},null]}`);
  const back = decodeRow(parseBodyLine(line, 2) as { t: string; r: unknown[] }, COLUMNS);
  assert.deepEqual(back, ['9223372036854775807', Buffer.from([0, 47, 255]), 2, '{"a":[1,"x"]}', null]);
  assert.equal(encodeValue(-5n, 'bigint'), '-5');
});

test('decoding refuses values of the wrong shape and rows of the wrong width', () => {
  assert.throws(() => decodeValue(12, 'bigint'), DumpFormatError);
  assert.throws(() => decodeValue('1e3', 'bigint'), DumpFormatError);
  assert.throws(() => decodeValue(5, 'bytea'), DumpFormatError);
  assert.throws(() => decodeRow({ t: 'edge', r: ['1'] }, COLUMNS), /has 1 values, the header names 5 columns/);
});

test('body lines: rows, the end marker, and anything else refused with its line number', () => {
  assert.deepEqual(parseBodyLine('{"end":true,"rows":{"node":3}}', 9), { end: true, rows: { node: 3 } });
  assert.throws(() => parseBodyLine('{"t":"node","r":[1', 7), /line 7 is not JSON/);
  assert.throws(() => parseBodyLine('{"x":1}', 8), /line 8 is neither a row nor the end marker/);
});

test('the header: accepted at this version, refused when newer, missing or not a dump', () => {
  const h = { objectfs: 'dump', version: DUMP_FORMAT_VERSION, schema: 1, migrations: ['0001-initial'], taken: 'now', tables: {} };
  assert.equal(parseHeader(JSON.stringify(h)).schema, 1);
  assert.throws(() => parseHeader(JSON.stringify({ ...h, version: DUMP_FORMAT_VERSION + 1 })), /newer than this build reads/);
  assert.throws(() => parseHeader(JSON.stringify({ ...h, migrations: [] })), /lacks its schema version/);
  assert.throws(() => parseHeader(undefined), /the dump is empty/);
  assert.throws(() => parseHeader('{"hello":1}'), /not an ObjectFS dump header/);
  assert.throws(() => parseHeader('PGDMP'), /not an ObjectFS dump/);
});

test('every table is classified; runtime state is skipped; the volume row loads last', () => {
  assert.equal(DUMPED_TABLES[DUMPED_TABLES.length - 1], 'volume');
  for (const t of ['session', 'sustained', 'file_lock', 'job'] as const) assert.equal(DUMP_ROLES[t], 'runtime');
  assert.deepEqual(FOLDED_TABLES, ['usage_delta', 'quota_delta']);
  for (const t of ['node', 'edge', 'symlink', 'xattr', 'chunk', 'slice_ref', 'counter', 'delfile', 'dir_quota'] as const) assert.ok(DUMPED_TABLES.includes(t));
});
