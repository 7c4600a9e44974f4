/**
 * MaintenanceScan over one pinned connection. Temporary tables (maint_scope, maint_slices,
 * maint_blocks) live only in that connection's session and vanish with it, even if the process
 * dies; queries are keyset pages or statements whose answer is bounded by `limit`.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import { FsError } from '../errors.js';
import { lookup } from './lookup.js';
import { stagedSlicesOn, type StagedSlice } from './staged.js';
import { decodedEntries, referencingEntries } from './slice-sql.js';
import { NODE_TYPE_CODE, ROOT_INO, type NodeType } from './types.js';
import type {
  ChunkAudit, EdgeAudit, EdgeCursor, FragmentedChunk, ListedBlock, LiveSlice, MaintenanceScan, NodeAudit,
  PendingAudit, SliceRefMismatch, UsageAudit,
} from './maintenance.js';

const DIR = NODE_TYPE_CODE.directory;
/** Loop guard of pathOf: deeper than any sane tree, and a cycle ends here. */
const MAX_DEPTH = 4096;

export class PinnedScan implements MaintenanceScan {
  readonly #db: Kysely<Database>;
  #scoped = false;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  #scope(column: string) {
    return this.#scoped ? sql`AND ${sql.raw(column)} IN (SELECT inode FROM maint_scope)` : sql``;
  }

  async restrictTo(ino: number): Promise<number> {
    await sql`DROP TABLE IF EXISTS maint_scope`.execute(this.#db);
    // UNION (not UNION ALL) drops repeats, so a corrupt cycle of directories still ends.
    await sql`CREATE TEMP TABLE maint_scope AS
      WITH RECURSIVE t(inode) AS (SELECT ${ino}::int8 UNION SELECT e.inode FROM edge e JOIN t ON e.parent = t.inode)
      SELECT inode FROM t`.execute(this.#db);
    await sql`CREATE UNIQUE INDEX ON maint_scope (inode)`.execute(this.#db);
    await sql`ANALYZE maint_scope`.execute(this.#db);
    this.#scoped = true;
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM maint_scope`.execute(this.#db);
    return rows[0]?.n ?? 0;
  }

  async nodePage(after: number, limit: number): Promise<NodeAudit[]> {
    // The page first, then set-based counts over it: one pass per question instead of
    // correlated subqueries per row.
    const { rows } = await sql<{ inode: bigint; type: number; nlink: number; length: bigint; edges: number; subdirs: number; kept: boolean }>`
      WITH page AS (
        SELECT n.inode, n.type, n.nlink, n.length FROM node n WHERE n.inode > ${after} ${this.#scope('n.inode')} ORDER BY n.inode LIMIT ${limit}
      ), links AS (
        SELECT e.inode, count(*)::int AS n FROM edge e WHERE e.inode IN (SELECT inode FROM page) GROUP BY e.inode
      ), subdirs AS (
        SELECT e.parent, count(*)::int AS n FROM edge e
        WHERE e.parent IN (SELECT inode FROM page WHERE type = ${DIR}) AND e.type = ${DIR} GROUP BY e.parent
      ), kept AS (
        SELECT DISTINCT s.inode FROM sustained s WHERE s.inode IN (SELECT inode FROM page)
      )
      SELECT p.inode, p.type, p.nlink, p.length, coalesce(l.n, 0) AS edges, coalesce(d.n, 0) AS subdirs, k.inode IS NOT NULL AS kept
      FROM page p LEFT JOIN links l ON l.inode = p.inode LEFT JOIN subdirs d ON d.parent = p.inode LEFT JOIN kept k ON k.inode = p.inode
      ORDER BY p.inode`.execute(this.#db);
    return rows.map((r) => ({
      ino: Number(r.inode), typeCode: r.type, nlink: r.nlink, length: Number(r.length), edges: r.edges, subdirs: r.subdirs, kept: r.kept,
    }));
  }

  // Edge and chunk pages read their nodes' types through scalar subqueries: evaluated only for
  // the rows that survive LIMIT, one index probe each, whatever the planner thinks of a join.
  async edgePage(after: EdgeCursor | undefined, limit: number): Promise<EdgeAudit[]> {
    const from = after === undefined ? sql`true` : sql`(e.parent, e.name) > (${after.parent}::int8, ${after.name}::bytea)`;
    const { rows } = await sql<{ parent: bigint; name: Buffer; inode: bigint; type: number; node_type: number | null; parent_type: number | null }>`
      SELECT e.parent, e.name, e.inode, e.type,
             (SELECT n.type FROM node n WHERE n.inode = e.inode) AS node_type,
             (SELECT p.type FROM node p WHERE p.inode = e.parent) AS parent_type
      FROM edge e WHERE ${from} ${this.#scope('e.parent')}
      ORDER BY e.parent, e.name LIMIT ${limit}`.execute(this.#db);
    return rows.map((r) => ({
      parent: Number(r.parent), name: r.name, ino: Number(r.inode), typeCode: r.type, nodeTypeCode: r.node_type, parentTypeCode: r.parent_type,
    }));
  }

  async chunkPage(after: readonly [number, number] | undefined, limit: number): Promise<ChunkAudit[]> {
    const from = after === undefined ? sql`true` : sql`(c.inode, c.idx) > (${after[0]}::int8, ${after[1]}::int)`;
    const { rows } = await sql<{ inode: bigint; idx: number; slices: Buffer; node_type: number | null }>`
      SELECT c.inode, c.idx, c.slices, (SELECT n.type FROM node n WHERE n.inode = c.inode) AS node_type
      FROM chunk c WHERE ${from} ${this.#scope('c.inode')}
      ORDER BY c.inode, c.idx LIMIT ${limit}`.execute(this.#db);
    return rows.map((r) => ({ ino: Number(r.inode), index: r.idx, slices: r.slices, nodeTypeCode: r.node_type }));
  }

  async sliceRefMismatches(limit: number): Promise<SliceRefMismatch[]> {
    const { rows } = await sql<{ id: bigint; size: number; actual: number; stored: number; pending: boolean }>`
      WITH counted AS (SELECT id, max(size) AS size, count(*)::int AS n FROM ${referencingEntries()} x GROUP BY id)
      SELECT coalesce(c.id, r.id) AS id, coalesce(c.size, r.size) AS size, coalesce(c.n, 0) AS actual, coalesce(r.refs, 0) AS stored,
             EXISTS (SELECT 1 FROM pending_slice p WHERE p.id = c.id) AS pending
      FROM counted c FULL JOIN slice_ref r ON r.id = c.id
      WHERE c.n IS DISTINCT FROM r.refs OR EXISTS (SELECT 1 FROM pending_slice p WHERE p.id = c.id)
      ORDER BY 1 LIMIT ${limit}`.execute(this.#db);
    return rows.map((r) => ({ id: Number(r.id), size: r.size, actual: r.actual, stored: r.stored, pending: r.pending }));
  }

  async usage(): Promise<UsageAudit> {
    const { rows } = await sql<{ stored_space: bigint | null; stored_inodes: bigint | null; space: bigint; inodes: bigint }>`
      SELECT (SELECT value FROM counter WHERE name = 'used_space') + (SELECT coalesce(sum(space), 0) FROM usage_delta) AS stored_space,
             (SELECT value FROM counter WHERE name = 'used_inodes') + (SELECT coalesce(sum(inodes), 0) FROM usage_delta) AS stored_inodes,
             (SELECT coalesce(sum((length + 4095) / 4096 * 4096), 0)::int8 FROM node) AS space,
             (SELECT count(*) FROM node) AS inodes`.execute(this.#db);
    const r = rows[0];
    if (r === undefined) throw new Error('usage audit returned no row');
    return { storedSpace: Number(r.stored_space ?? 0), storedInodes: Number(r.stored_inodes ?? 0), space: Number(r.space), inodes: Number(r.inodes) };
  }

  async pending(now = Date.now()): Promise<PendingAudit> {
    const { rows } = await sql<{ dropped: number; slices: number; bytes: bigint; dead: number }>`
      SELECT (SELECT count(*)::int FROM dropped_chunk) AS dropped,
             (SELECT count(*)::int FROM pending_slice) AS slices,
             (SELECT coalesce(sum(size), 0)::int8 FROM pending_slice) AS bytes,
             (SELECT count(*)::int FROM sustained k JOIN session s ON s.sid = k.sid WHERE s.expire < ${now})
               + (SELECT count(*)::int FROM sustained k WHERE NOT EXISTS (SELECT 1 FROM session s WHERE s.sid = k.sid)) AS dead`.execute(this.#db);
    const r = rows[0];
    if (r === undefined) throw new Error('pending audit returned no row');
    return { droppedLists: r.dropped, pendingSlices: r.slices, pendingBytes: Number(r.bytes), deadSessionInodes: r.dead };
  }

  stagedSlices(): Promise<StagedSlice[]> {
    return stagedSlicesOn(this.#db);
  }

  async snapshotLiveSlices(): Promise<number> {
    await sql`DROP TABLE IF EXISTS maint_slices`.execute(this.#db);
    // One statement: one snapshot of all four sources, so a slice moving between them (release,
    // deletion) is seen in one place or the other, never in neither.
    await sql`CREATE TEMP TABLE maint_slices AS
      SELECT id, size, bit_or(src)::int AS sources FROM (
        SELECT e.id, e.size, 1 AS src FROM chunk c ${decodedEntries('c')} WHERE e.id <> 0 ${this.#scope('c.inode')}
        UNION ALL SELECT e.id, e.size, 2 FROM dropped_chunk d ${decodedEntries('d')} WHERE e.id <> 0
        UNION ALL SELECT id, size, 4 FROM pending_slice
        UNION ALL SELECT id, size, 8 FROM slice_ref
      ) x GROUP BY id, size`.execute(this.#db);
    await sql`CREATE INDEX ON maint_slices (id)`.execute(this.#db);
    await sql`ANALYZE maint_slices`.execute(this.#db);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM maint_slices`.execute(this.#db);
    return rows[0]?.n ?? 0;
  }

  async liveSlicePage(afterId: number, limit: number, sources: number): Promise<LiveSlice[]> {
    const { rows } = await sql<{ id: bigint; size: number; sources: number }>`
      SELECT id, size, sources FROM maint_slices WHERE id > ${afterId} AND (sources & ${sources}) <> 0
      ORDER BY id, size LIMIT ${limit}`.execute(this.#db);
    return rows.map((r) => ({ id: Number(r.id), size: r.size, sources: r.sources }));
  }

  async liveSlices(ids: readonly number[]): Promise<LiveSlice[]> {
    if (ids.length === 0) return [];
    const { rows } = await sql<{ id: bigint; size: number; sources: number }>`
      SELECT id, size, sources FROM maint_slices WHERE id = ANY(${[...ids]}::int8[])`.execute(this.#db);
    return rows.map((r) => ({ id: Number(r.id), size: r.size, sources: r.sources }));
  }

  async addListedBlocks(blocks: readonly ListedBlock[]): Promise<void> {
    await sql`CREATE TEMP TABLE IF NOT EXISTS maint_blocks (id int8 NOT NULL, idx int NOT NULL, len int NOT NULL, size int8 NOT NULL)`.execute(this.#db);
    await sql`CREATE INDEX IF NOT EXISTS maint_blocks_id ON maint_blocks (id)`.execute(this.#db);
    if (blocks.length === 0) return;
    await sql`INSERT INTO maint_blocks (id, idx, len, size)
      SELECT * FROM unnest(${blocks.map((b) => b.sliceId)}::int8[], ${blocks.map((b) => b.blockIndex)}::int[],
                           ${blocks.map((b) => b.blockLen)}::int[], ${blocks.map((b) => b.size)}::int8[])`.execute(this.#db);
  }

  async listedBlocks(ids: readonly number[]): Promise<ListedBlock[]> {
    if (ids.length === 0) return [];
    await this.addListedBlocks([]);
    const { rows } = await sql<{ id: bigint; idx: number; len: number; size: bigint }>`
      SELECT id, idx, len, size FROM maint_blocks WHERE id = ANY(${[...ids]}::int8[])`.execute(this.#db);
    return rows.map((r) => ({ sliceId: Number(r.id), blockIndex: r.idx, blockLen: r.len, size: Number(r.size) }));
  }

  async inodesUsing(ids: readonly number[]): Promise<Map<number, number[]>> {
    const out = new Map<number, number[]>();
    if (ids.length === 0) return out;
    const { rows } = await sql<{ id: bigint; inode: bigint }>`
      SELECT DISTINCT e.id, c.inode FROM chunk c ${decodedEntries('c')} WHERE e.id = ANY(${[...ids]}::int8[])
      ORDER BY e.id, c.inode`.execute(this.#db);
    for (const r of rows) {
      const list = out.get(Number(r.id)) ?? [];
      list.push(Number(r.inode));
      out.set(Number(r.id), list);
    }
    return out;
  }

  async pathOf(ino: number): Promise<string | undefined> {
    const parts: string[] = [];
    let at = ino;
    for (let depth = 0; at !== ROOT_INO; depth++) {
      if (depth >= MAX_DEPTH) return undefined;
      const row = await this.#db.selectFrom('edge').select(['parent', 'name'])
        .where('inode', '=', BigInt(at)).orderBy('parent').orderBy('name').limit(1).executeTakeFirst();
      if (row === undefined) return undefined;
      parts.push(row.name.toString('utf8'));
      at = Number(row.parent);
    }
    return `/${parts.reverse().join('/')}`;
  }

  async resolve(path: string): Promise<{ ino: number; type: NodeType }> {
    let ino = ROOT_INO;
    let type: NodeType = 'directory';
    for (const part of path.split('/').filter((p) => p !== '' && p !== '.')) {
      if (type !== 'directory') throw FsError.ENOTDIR(`${path}: a component is not a directory`);
      const attr = await lookup(this.#db, ino, Buffer.from(part)).catch((err: unknown) => {
        throw err instanceof FsError && err.code === 'ENOENT' ? FsError.ENOENT(`${path}: no such file or directory`) : err;
      });
      ino = attr.ino;
      type = attr.type;
    }
    return { ino, type };
  }

  async fragmentedChunks(after: readonly [number, number] | undefined, limit: number): Promise<FragmentedChunk[]> {
    const from = after === undefined ? sql`true` : sql`(c.inode, c.idx) > (${after[0]}::int8, ${after[1]}::int)`;
    const { rows } = await sql<{ inode: bigint; idx: number; n: number }>`
      SELECT c.inode, c.idx, length(c.slices) / 24 AS n FROM chunk c
      WHERE ${from} AND length(c.slices) > 24 ${this.#scope('c.inode')}
      ORDER BY c.inode, c.idx LIMIT ${limit}`.execute(this.#db);
    return rows.map((r) => ({ ino: Number(r.inode), index: r.idx, entries: r.n }));
  }
}
