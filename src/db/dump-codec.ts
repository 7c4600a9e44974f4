/**
 * The dump format (docs/dump-format.md), pure: JSON Lines, one JSON value per line.
 *
 *   {"objectfs":"dump","version":1,"schema":6,"migrations":[…],"taken":"<ISO time>",
 *    "tables":{"node":{"columns":[["inode","bigint"],…],"key":["inode"]},…}}
 *   {"t":"node","r":["1",2,493,…]}          one line per row, values in column order
 *   {"end":true,"rows":{"node":123,…}}       the trailer: a dump without it is truncated
 *
 * Values by PostgreSQL type: bigint as a decimal string (JSON numbers lose precision past
 * 2^53), bytea as base64, json/jsonb as the JSON value itself, everything else (integer,
 * smallint, text, uuid, boolean) as JSON's own; NULL as null.
 */

/** The format version this build writes and reads. */
export const DUMP_FORMAT_VERSION = 1;

/** A column: its name and its type as PostgreSQL's format_type() spells it. */
export type DumpColumn = readonly [name: string, type: string];

export interface DumpTable {
  readonly columns: readonly DumpColumn[];
  /** The primary key's columns (the dump's row order). */
  readonly key: readonly string[];
}

export interface DumpHeader {
  readonly objectfs: 'dump';
  readonly version: number;
  /** Schema version (number of migrations) the dump was taken at. */
  readonly schema: number;
  /** Names of those migrations, in order. */
  readonly migrations: readonly string[];
  /** When the snapshot was taken (ISO 8601, UTC). */
  readonly taken: string;
  readonly tables: Readonly<Record<string, DumpTable>>;
}

export interface DumpRowLine {
  readonly t: string;
  readonly r: readonly unknown[];
}

export interface DumpTrailer {
  readonly end: true;
  readonly rows: Readonly<Record<string, number>>;
}

/** A dump that cannot be read: truncated, not a dump, or from a newer format. */
export class DumpFormatError extends Error {
  override readonly name = 'DumpFormatError';
}

const isBigint = (type: string): boolean => type === 'bigint';
const isBytes = (type: string): boolean => type === 'bytea';
const isJson = (type: string): boolean => type === 'json' || type === 'jsonb';

/** One value as the dump stores it. */
export function encodeValue(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return null;
  if (isBigint(type)) return typeof value === 'bigint' || typeof value === 'number' ? value.toString() : String(value);
  if (isBytes(type)) return (value as Buffer).toString('base64');
  return value;
}

/**
 * One stored value back as a query parameter: bytea as a Buffer, json as its text, bigint as
 * its decimal string (PostgreSQL parses it exactly).
 */
export function decodeValue(value: unknown, type: string): unknown {
  if (value === null) return null;
  if (isBytes(type)) {
    if (typeof value !== 'string') throw new DumpFormatError(`a bytea value is not a base64 string: ${JSON.stringify(value)}`);
    return Buffer.from(value, 'base64');
  }
  if (isJson(type)) return JSON.stringify(value);
  if (isBigint(type)) {
    if (typeof value !== 'string' || !/^-?\d+$/.test(value)) throw new DumpFormatError(`a bigint value is not a decimal string: ${JSON.stringify(value)}`);
    return value;
  }
  return value;
}

/** The line of one row (without the newline). */
export function encodeRowLine(table: string, row: Readonly<Record<string, unknown>>, columns: readonly DumpColumn[]): string {
  return JSON.stringify({ t: table, r: columns.map(([name, type]) => encodeValue(row[name], type)) });
}

/** The parameters of one row line, in column order; refuses a row of the wrong width. */
export function decodeRow(line: DumpRowLine, columns: readonly DumpColumn[]): unknown[] {
  if (!Array.isArray(line.r) || line.r.length !== columns.length) {
    throw new DumpFormatError(`a row of ${line.t} has ${Array.isArray(line.r) ? line.r.length : 'no'} values, the header names ${columns.length} columns`);
  }
  return columns.map(([, type], i) => decodeValue(line.r[i], type));
}

/** Parses one line of the body: a row or the trailer. */
export function parseBodyLine(text: string, lineNo: number): DumpRowLine | DumpTrailer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DumpFormatError(`line ${lineNo} is not JSON (a damaged or truncated dump)`);
  }
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    if (v.end === true && typeof v.rows === 'object' && v.rows !== null) return v as unknown as DumpTrailer;
    if (typeof v.t === 'string' && Array.isArray(v.r)) return v as unknown as DumpRowLine;
  }
  throw new DumpFormatError(`line ${lineNo} is neither a row nor the end marker`);
}

/** Parses and checks the header line. */
export function parseHeader(text: string | undefined): DumpHeader {
  if (text === undefined) throw new DumpFormatError('the dump is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new DumpFormatError('the first line is not JSON: not an ObjectFS dump');
  }
  const h = value as Partial<DumpHeader> | null;
  if (h === null || typeof h !== 'object' || h.objectfs !== 'dump') throw new DumpFormatError('the first line is not an ObjectFS dump header');
  if (typeof h.version !== 'number' || h.version > DUMP_FORMAT_VERSION) {
    throw new DumpFormatError(`dump format version ${String(h.version)} is newer than this build reads (${DUMP_FORMAT_VERSION}): upgrade objectfs`);
  }
  if (typeof h.schema !== 'number' || !Array.isArray(h.migrations) || h.migrations.length !== h.schema || typeof h.tables !== 'object' || h.tables === null) {
    throw new DumpFormatError('the dump header lacks its schema version, migrations or tables');
  }
  return h as DumpHeader;
}
