/** Directory listing, keyset-paginated on (parent, name): nothing loads a whole directory. */
import { sql, type Selectable } from 'kysely';
import type { EdgeTable } from '../db/index.js';
import { getDirectory } from './lookup.js';
import { NODE_COLUMNS_N, toAttr, type NodeRow } from './rows.js';
import type { DirEntry, DirPage } from './types.js';
import type { MetaContext } from './context.js';

export const DEFAULT_READDIR_LIMIT = 1000;

/** A listed entry: its name, its node, and whether it has any extended attribute. */
type Listed = NodeRow & Pick<Selectable<EdgeTable>, 'name'> & { xattrs: boolean };

export async function readdir(ctx: MetaContext, ino: number, options: { after?: Buffer; limit?: number } = {}): Promise<DirPage> {
  const limit = Math.max(1, Math.min(options.limit ?? DEFAULT_READDIR_LIMIT, 100_000));
  const after = options.after;
  // The first page checks that this is a directory; later pages trust the caller's cursor.
  if (after === undefined) await getDirectory(ctx.db, ino);
  // Whether each entry has extended attributes at all: one index probe per row, and `ls -l`
  // (which asks for two of them per file) needs no further round trip for most files.
  const { rows } = after === undefined
    ? await sql<Listed>`
        SELECT e.name, ${NODE_COLUMNS_N}, EXISTS (SELECT 1 FROM xattr x WHERE x.inode = n.inode) AS xattrs
        FROM edge e JOIN node n ON n.inode = e.inode
        WHERE e.parent = ${ino} ORDER BY e.name LIMIT ${limit + 1}`.execute(ctx.db)
    : await sql<Listed>`
        SELECT e.name, ${NODE_COLUMNS_N}, EXISTS (SELECT 1 FROM xattr x WHERE x.inode = n.inode) AS xattrs
        FROM edge e JOIN node n ON n.inode = e.inode
        WHERE e.parent = ${ino} AND e.name > ${after} ORDER BY e.name LIMIT ${limit + 1}`.execute(ctx.db);
  const more = rows.length > limit;
  const entries: DirEntry[] = rows.slice(0, limit).map((r) => {
    const attr = toAttr(r);
    return { name: r.name, ino: attr.ino, type: attr.type, attr, xattrs: r.xattrs };
  });
  const last = entries[entries.length - 1];
  return more && last !== undefined ? { entries, next: last.name } : { entries };
}
