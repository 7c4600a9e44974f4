/** Extended attributes: names and values are bytes; setting one changes the inode's ctime. */
import { sql, type Nullable, type Selectable } from 'kysely';
import { FsError } from '../errors.js';
import { isUniqueViolation, type XattrTable } from '../db/index.js';
import { nodeRow } from './lookup.js';
import { statement } from './tx.js';
import { MAX_XATTR_NAME_BYTES, MAX_XATTR_VALUE_BYTES, XATTR_CREATE, XATTR_REPLACE } from './types.js';
import type { MetaContext } from './context.js';

function checkXattrName(name: Buffer): void {
  if (name.length === 0 || name.includes(0)) throw FsError.EINVAL('invalid xattr name');
  if (name.length > MAX_XATTR_NAME_BYTES) throw FsError.ERANGE(`xattr name of ${name.length} bytes`);
}

async function assertInode(ctx: MetaContext, ino: number): Promise<void> {
  if (await nodeRow(ctx.db, ino) === undefined) throw FsError.ENOENT(`no inode ${ino}`);
}

export async function getxattr(ctx: MetaContext, ino: number, name: Buffer): Promise<Buffer> {
  checkXattrName(name);
  // One query answers both "which value" and "does the inode exist": the kernel asks for
  // security.capability before every write, so the common miss must cost one round trip.
  const { rows } = await sql<Nullable<Pick<Selectable<XattrTable>, 'value'>>>`
    SELECT x.value FROM node n LEFT JOIN xattr x ON x.inode = n.inode AND x.name = ${name}
    WHERE n.inode = ${ino}`.execute(ctx.db);
  const row = rows[0];
  if (row === undefined) throw FsError.ENOENT(`no inode ${ino}`);
  if (row.value === null) throw FsError.ENODATA(`no xattr ${JSON.stringify(name.toString())} on ${ino}`);
  return row.value;
}

export async function listxattr(ctx: MetaContext, ino: number): Promise<Buffer[]> {
  const rows = await ctx.db.selectFrom('xattr').select('name').where('inode', '=', BigInt(ino)).orderBy('name').execute();
  if (rows.length === 0) await assertInode(ctx, ino);
  return rows.map((r) => r.name);
}

export async function setxattr(ctx: MetaContext, ino: number, name: Buffer, value: Buffer, flags = 0): Promise<void> {
  checkXattrName(name);
  if (value.length > MAX_XATTR_VALUE_BYTES) throw FsError.of('E2BIG', `xattr value of ${value.length} bytes`);
  if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) !== 0 || flags === (XATTR_CREATE | XATTR_REPLACE)) throw FsError.EINVAL(`invalid xattr flags ${flags}`);
  const now = ctx.now();
  let affected: bigint | undefined;
  try {
    affected = await statement(async () => {
      // The node UPDATE both checks existence and locks the inode against a concurrent unlink.
      const res = flags === XATTR_REPLACE
        ? await sql`
            WITH x AS (UPDATE xattr SET value = ${value} WHERE inode = ${ino} AND name = ${name} RETURNING inode)
            UPDATE node n SET ctime = ${now} FROM x WHERE n.inode = x.inode`.execute(ctx.db)
        : await sql`
            WITH n AS (UPDATE node SET ctime = ${now} WHERE inode = ${ino} RETURNING inode)
            INSERT INTO xattr (inode, name, value) SELECT inode, ${name}, ${value} FROM n
            ${flags === XATTR_CREATE ? sql`` : sql`ON CONFLICT (inode, name) DO UPDATE SET value = EXCLUDED.value`}`.execute(ctx.db);
      return res.numAffectedRows;
    }, ctx);
  } catch (err) {
    if (isUniqueViolation(err, 'xattr_pkey')) throw FsError.EEXIST(`xattr ${JSON.stringify(name.toString())} exists`);
    throw err;
  }
  if (affected === 1n) return;
  await assertInode(ctx, ino);
  throw FsError.ENODATA(`no xattr ${JSON.stringify(name.toString())} to replace on ${ino}`);
}

export async function removexattr(ctx: MetaContext, ino: number, name: Buffer): Promise<void> {
  checkXattrName(name);
  const now = ctx.now();
  const res = await statement(() => sql`
    WITH x AS (DELETE FROM xattr WHERE inode = ${ino} AND name = ${name} RETURNING inode)
    UPDATE node SET ctime = ${now} FROM x WHERE node.inode = x.inode`.execute(ctx.db), ctx);
  if (res.numAffectedRows === 1n) return;
  await assertInode(ctx, ino);
  throw FsError.ENODATA(`no xattr ${JSON.stringify(name.toString())} on ${ino}`);
}
