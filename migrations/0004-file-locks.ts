/**
 * File locks held across hosts (decision 66): flock(2), POSIX byte-range and OFD locks, one row
 * per owner and range. `sid` is the holding mount's session (a dead session's locks go with it),
 * `owner` the kernel's lock owner on that host (a process for POSIX locks, an open file for
 * flock and OFD locks), `kind` 1 POSIX/OFD or 2 flock, `type` 1 read or 2 write, [lo, hi) the
 * bytes (hi 2^53-1: to the end of the file, however long it grows).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE file_lock (
      inode int8 NOT NULL,
      sid int8 NOT NULL,
      owner int8 NOT NULL,
      kind int2 NOT NULL,
      type int2 NOT NULL,
      lo int8 NOT NULL,
      hi int8 NOT NULL,
      pid int4 NOT NULL
    );
    CREATE INDEX file_lock_inode ON file_lock (inode);
    CREATE INDEX file_lock_sid ON file_lock (sid);
  `.execute(db);
}
