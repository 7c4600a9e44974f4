/** Row ↔ value mapping and input validation shared by the operation families. */
import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { NodeTable } from '../db/index.js';
import { FsError } from '../errors.js';
import { MAX_NAME_BYTES, nodeTypeFromCode, type Attr } from './types.js';

/** A node row as read (int8 columns as bigint): the table type of db/schema.ts, never a copy. */
export type NodeRow = Selectable<NodeTable>;

/**
 * The node columns every attribute read selects. Checked against NodeTable both ways, so a
 * column added to, renamed in or dropped from the table type fails the build here.
 */
const NODE_COLUMN_SET = {
  inode: 0, type: 0, mode: 0, uid: 0, gid: 0, atime: 0, mtime: 0, ctime: 0, nlink: 0, length: 0, rdev: 0, parent: 0,
} as const satisfies Record<keyof NodeTable, 0>;
/** For the query builder: `.select(NODE_COLUMN_NAMES)`, `.returning(NODE_COLUMN_NAMES)`. */
export const NODE_COLUMN_NAMES = Object.keys(NODE_COLUMN_SET) as readonly (keyof NodeTable)[];
/** The same list for hand-written SQL. */
export const NODE_COLUMNS = sql.raw(NODE_COLUMN_NAMES.join(', '));
/** The same columns qualified with table alias n. */
export const NODE_COLUMNS_N = sql.raw(NODE_COLUMN_NAMES.map((c) => `n.${c}`).join(', '));
/** The columns of a directory row `p` beside another row's, as `dir_<column>` (see dirRowOf). */
export const DIR_COLUMNS_P = sql.raw(NODE_COLUMN_NAMES.map((c) => `p.${c} AS dir_${c}`).join(', '));

/** The row selected with DIR_COLUMNS_P out of a result row. */
export type DirColumns = { [K in keyof NodeRow as `dir_${K}`]: NodeRow[K] };
export function dirRowOf(row: DirColumns): NodeRow {
  return Object.fromEntries(NODE_COLUMN_NAMES.map((c) => [c, row[`dir_${c}`]])) as unknown as NodeRow;
}

/**
 * `= ANY($1::int8[])` for the query builder: `.where('inode', '=', anyOf(inos))`. One
 * parameter whatever the count, where `in` would make one per id and fail on an empty list.
 */
export function anyOf(ids: readonly number[]): RawBuilder<bigint> {
  return sql<bigint>`ANY(${[...ids]}::int8[])`;
}

export function toAttr(row: NodeRow): Attr {
  return Object.freeze({
    ino: Number(row.inode),
    type: nodeTypeFromCode(row.type),
    mode: row.mode,
    uid: Number(row.uid),
    gid: Number(row.gid),
    nlink: row.nlink,
    length: Number(row.length),
    rdev: row.rdev,
    atime: row.atime,
    mtime: row.mtime,
    ctime: row.ctime,
    parent: Number(row.parent),
  });
}

const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

export function isDot(name: Buffer): boolean {
  return name.equals(DOT);
}
export function isDotDot(name: Buffer): boolean {
  return name.equals(DOTDOT);
}

/** A name that may be stored in a directory: 1..255 bytes, no '/' or NUL. */
export function checkName(name: Buffer): void {
  if (name.length === 0) throw FsError.ENOENT('empty name');
  if (name.length > MAX_NAME_BYTES) throw FsError.ENAMETOOLONG(`name of ${name.length} bytes (at most ${MAX_NAME_BYTES})`);
  if (name.includes(0x2f) || name.includes(0)) throw FsError.EINVAL('name contains "/" or NUL');
}

/** A name for a new entry: also not '.' or '..' (which always exist). */
export function checkNewName(name: Buffer): void {
  checkName(name);
  if (isDot(name) || isDotDot(name)) throw FsError.EEXIST(`"${name.toString()}" always exists`);
}

/** Printable form of a name for messages (names are bytes). */
export function showName(name: Buffer): string {
  return JSON.stringify(name.toString('utf8'));
}

/** Thrown inside a transaction when what was read changed before the locks were taken: rerun. */
export class RaceDetected extends Error {
  override readonly name = 'RaceDetected';
}
