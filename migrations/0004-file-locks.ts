/**
 * File locks held across hosts (decision 66): flock(2), POSIX byte-range and OFD locks, one row
 * per owner and range. `sid` is the holding mount's session (a dead session's locks go with it),
 * `owner` the kernel's lock owner on that host (a process for POSIX locks, an open file for
 * flock and OFD locks), `kind` 1 POSIX/OFD or 2 flock, `type` 1 read or 2 write, [lo, hi) the
 * bytes (hi 2^53-1: to the end of the file, however long it grows). A row names a live session
 * (a foreign key): a mount whose session was reaped cannot take a lock under it.
 *
 * objectfs_grant_lock is the one-round-trip grant for an owner that holds nothing else on the
 * file (nearly every lock) and for flock, which always replaces the owner's one lock: it locks
 * the file's node row, then looks for a conflict with a fresh snapshot (each statement of a
 * plpgsql function takes its own under READ COMMITTED, so a lock granted while this one waited
 * for the row is seen), and inserts only if there is none. The general case (merging and
 * splitting an owner's ranges) is a transaction in src/meta/locks.ts.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE file_lock (
      inode int8 NOT NULL,
      sid int8 NOT NULL REFERENCES session (sid) DEFERRABLE INITIALLY DEFERRED,
      owner int8 NOT NULL,
      kind int2 NOT NULL,
      type int2 NOT NULL,
      lo int8 NOT NULL,
      hi int8 NOT NULL,
      pid int4 NOT NULL
    );
    CREATE INDEX file_lock_inode ON file_lock (inode);
    CREATE INDEX file_lock_sid ON file_lock (sid);
    CREATE FUNCTION objectfs_grant_lock(p_ino int8, p_kind int2, p_sid int8, p_owner int8, p_type int2, p_lo int8, p_hi int8, p_pid int4)
      RETURNS TABLE (c_sid int8, c_owner int8, c_type int2, c_lo int8, c_hi int8, c_pid int4, c_released bool)
      LANGUAGE plpgsql AS $$
      DECLARE
        gave_up bool;
      BEGIN
        PERFORM 1 FROM node n WHERE n.inode = p_ino FOR UPDATE;
        IF NOT FOUND THEN
          RAISE EXCEPTION 'no inode %', p_ino USING ERRCODE = 'P0002';
        END IF;
        RETURN QUERY SELECT l.sid, l.owner, l.type, l.lo, l.hi, l.pid, false FROM file_lock l
          WHERE l.inode = p_ino AND l.kind = p_kind AND l.lo < p_hi AND l.hi > p_lo
            AND NOT (l.sid = p_sid AND l.owner = p_owner) AND (l.type = 2 OR p_type = 2)
          ORDER BY l.lo LIMIT 1;
        IF FOUND THEN
          RETURN;
        END IF;
        WITH gone AS (
          DELETE FROM file_lock l WHERE l.inode = p_ino AND l.kind = p_kind AND l.sid = p_sid AND l.owner = p_owner RETURNING l.type
        ) SELECT coalesce(bool_or(g.type > p_type), false) INTO gave_up FROM gone g;
        INSERT INTO file_lock (inode, sid, owner, kind, type, lo, hi, pid) VALUES (p_ino, p_sid, p_owner, p_kind, p_type, p_lo, p_hi, p_pid);
        RETURN QUERY SELECT NULL::int8, NULL::int8, NULL::int2, NULL::int8, NULL::int8, NULL::int4, gave_up;
      END $$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP FUNCTION IF EXISTS objectfs_grant_lock; DROP TABLE IF EXISTS file_lock`.execute(db);
}
