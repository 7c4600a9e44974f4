/**
 * Usage counters (bytes used in 4 KiB units, inodes used). A trigger on `node` journals every
 * change of usage into `usage_delta` in the transaction that made it (migration 0003), so the
 * journal is exact whatever happens to a client; this class only folds the journal into the
 * `counter` rows about once a second so that it stays short. Readers add the unfolded rest
 * (`USAGE_SQL`).
 *
 * A fold that fails (the database is unreachable) loses nothing: the rows stay in the journal
 * and the next fold takes them. Folds never chain on one another, so one failure cannot stop
 * the ones after it.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/index.js';
import type { MetaLog } from './types.js';

/** The volume's usage as one row (space, inodes): the folded counters plus the journal. */
export const USAGE_SQL = sql<{ space: bigint; inodes: bigint }>`
  SELECT (SELECT value FROM counter WHERE name = 'used_space') + (SELECT coalesce(sum(space), 0) FROM usage_delta) AS space,
         (SELECT value FROM counter WHERE name = 'used_inodes') + (SELECT coalesce(sum(inodes), 0) FROM usage_delta) AS inodes`;

export class UsageCounters {
  readonly #db: Kysely<Database>;
  readonly #log: MetaLog | undefined;
  #timer: NodeJS.Timeout | undefined;
  #folding: Promise<void> | undefined;
  /** Set while folds fail, so an outage is logged once (and its end once). */
  #failing = false;

  constructor(db: Kysely<Database>, flushMs: number, log?: MetaLog) {
    this.#db = db;
    this.#log = log;
    if (flushMs > 0) {
      this.#timer = setInterval(() => { void this.flush().catch(() => undefined); }, flushMs);
      this.#timer.unref();
    }
  }

  /** Folds the journal into the counters now (joins a fold already running). */
  flush(): Promise<void> {
    this.#folding ??= this.#fold().finally(() => { this.#folding = undefined; });
    return this.#folding;
  }

  async #fold(): Promise<void> {
    try {
      await this.#db.transaction().execute(async (tx) => {
        // Folds of several clients take turns on the counter rows; one that finds them taken
        // leaves the work to the other instead of queueing behind it.
        const rows = await tx.selectFrom('counter').select('name').where('name', 'in', ['used_space', 'used_inodes']).forUpdate().skipLocked().execute();
        if (rows.length < 2) return;
        // One statement: the rows deleted are exactly the rows added (one snapshot).
        await sql`
          WITH d AS (DELETE FROM usage_delta RETURNING space, inodes),
               s AS (SELECT coalesce(sum(space), 0)::int8 AS space, coalesce(sum(inodes), 0)::int8 AS inodes FROM d)
          UPDATE counter c SET value = c.value + CASE c.name WHEN 'used_space' THEN s.space ELSE s.inodes END
          FROM s WHERE c.name IN ('used_space', 'used_inodes') AND (s.space <> 0 OR s.inodes <> 0)`.execute(tx);
        // Directory quotas' journal (migration 0008) the same way; rows of a deleted quota just go.
        await sql`
          WITH d AS (DELETE FROM quota_delta RETURNING inode, space, inodes),
               s AS (SELECT inode, sum(space)::int8 AS space, sum(inodes)::int8 AS inodes FROM d GROUP BY inode)
          UPDATE dir_quota q SET used_space = q.used_space + s.space, used_inodes = q.used_inodes + s.inodes
          FROM s WHERE q.inode = s.inode`.execute(tx);
      });
    } catch (err) {
      if (!this.#failing) {
        this.#failing = true;
        this.#log?.warn('usage counters could not be updated; df and status stay exact (the changes wait in the database) and updating resumes when the database answers', { error: (err as Error).message });
      }
      throw err;
    }
    if (this.#failing) {
      this.#failing = false;
      this.#log?.info('usage counters are updated again');
    }
  }

  /** Stops the timer and folds once more; a failure is only logged (nothing is lost by it). */
  async close(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.flush().catch(() => undefined);
  }
}
