/**
 * Slices staged by write-back mounts (decision 90): committed, their blocks on one mount's disk
 * and not yet in the object store. The commit writes the row (chunks.ts); the staging mount
 * removes it once every block is uploaded. Other hosts ask here whether a missing block is
 * staged (then they wait for it instead of failing), and status and fsck report the rows.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import { statement } from './tx.js';
import type { MetaContext } from './context.js';
import type { SessionInfo } from './types.js';

/** Who staged a slice, and when. */
export interface StagedSlice {
  readonly id: number;
  readonly size: number;
  readonly inode: number;
  readonly sid: number;
  /** When it was committed (ms since the epoch). */
  readonly stagedAt: number;
  /** The staging session's host, while that session is registered. */
  readonly host: string | undefined;
}

/** One session's staged backlog. */
export interface StagedBacklog {
  readonly sid: number;
  readonly slices: number;
  readonly bytes: number;
  /** Commit time of its oldest staged slice (ms since the epoch). */
  readonly oldest: number;
  readonly host: string | undefined;
}

interface StagedRow {
  id: string | bigint;
  size: number;
  inode: string | bigint;
  sid: string | bigint;
  staged_at: string | bigint;
  info: SessionInfo | null;
}

/** Staged rows with their session's info (null once the session ended). */
const STAGED_WITH_HOST = sql`SELECT s.id, s.size, s.inode, s.sid, s.staged_at, e.info FROM staged_slice s LEFT JOIN session e ON e.sid = s.sid`;

function toStaged(r: StagedRow): StagedSlice {
  return { id: Number(r.id), size: r.size, inode: Number(r.inode), sid: Number(r.sid), stagedAt: Number(r.staged_at), host: r.info?.host };
}

/** Forgets staged slices whose blocks are all in the object store now (one statement). */
export async function unstageSlices(ctx: MetaContext, ids: readonly number[]): Promise<void> {
  if (ids.length === 0) return;
  await statement(() => sql`DELETE FROM staged_slice WHERE id = ANY(${ids.map(String)}::int8[])`.execute(ctx.db), ctx);
}

/** The staged record of slice `id`, or undefined when its blocks are uploaded (or it never was staged). */
export async function stagedSlice(ctx: MetaContext, id: number): Promise<StagedSlice | undefined> {
  const { rows } = await statement(() => sql<StagedRow>`${STAGED_WITH_HOST} WHERE s.id = ${id}`.execute(ctx.db), ctx);
  return rows[0] === undefined ? undefined : toStaged(rows[0]);
}

/** Every staged slice, oldest first. */
export async function stagedSlices(ctx: MetaContext): Promise<StagedSlice[]> {
  return statement(() => stagedSlicesOn(ctx.db), ctx);
}

/** Every staged slice, oldest first, on `db` (a maintenance scan's pinned connection too). */
export async function stagedSlicesOn(db: Kysely<Database>): Promise<StagedSlice[]> {
  const { rows } = await sql<StagedRow>`${STAGED_WITH_HOST} ORDER BY s.staged_at, s.id`.execute(db);
  return rows.map(toStaged);
}

/** The staged backlog of each session that has one (status), including sessions that ended. */
export async function stagedBacklog(ctx: MetaContext): Promise<StagedBacklog[]> {
  const { rows } = await statement(() => sql<{ sid: string; slices: number; bytes: string; oldest: string; info: SessionInfo | null }>`
    SELECT b.sid, b.slices, b.bytes, b.oldest, e.info FROM (
      SELECT sid, count(*)::int AS slices, sum(size)::int8 AS bytes, min(staged_at) AS oldest FROM staged_slice GROUP BY sid
    ) b LEFT JOIN session e ON e.sid = b.sid ORDER BY b.sid`.execute(ctx.db), ctx);
  return rows.map((r) => ({ sid: Number(r.sid), slices: r.slices, bytes: Number(r.bytes), oldest: Number(r.oldest), host: r.info?.host }));
}
