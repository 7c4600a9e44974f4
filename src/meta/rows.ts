/** Row ↔ value mapping and input validation shared by the operation families. */
import { sql } from 'kysely';
import { FsError } from '../errors.js';
import { MAX_NAME_BYTES, nodeTypeFromCode, type Attr } from './types.js';

/** The node columns every attribute read selects, in this order. */
export const NODE_COLUMNS = sql.raw('inode, type, mode, uid, gid, atime, mtime, ctime, nlink, length, rdev, parent');
/** The same columns qualified with table alias n. */
export const NODE_COLUMNS_N = sql.raw('n.inode, n.type, n.mode, n.uid, n.gid, n.atime, n.mtime, n.ctime, n.nlink, n.length, n.rdev, n.parent');

export interface NodeRow {
  inode: bigint;
  type: number;
  mode: number;
  uid: bigint;
  gid: bigint;
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  nlink: number;
  length: bigint;
  rdev: number;
  parent: bigint;
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
