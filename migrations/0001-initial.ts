/**
 * The initial schema. Stored formats:
 *  - times are int8 nanoseconds since the epoch; session expiry is int8 ms;
 *  - names (edge.name, xattr.name) are bytea: any byte but '/' and NUL, at most 255 bytes;
 *  - node.type / edge.type: 1 file, 2 directory, 3 symlink, 4 fifo, 5 block device,
 *    6 char device, 7 socket; node.mode holds permission bits only (07777); uid/gid are
 *    int8 because Linux ids go up to 2^32 - 1;
 *  - chunk.slices is the concatenation of 24-byte big-endian entries
 *    (pos u32, id u64, size u32, off u32, len u32), later entries win (src/meta/slice-list.ts);
 *    chunk.version is bumped whenever entries are removed or replaced;
 *  - slice_ref counts the chunk entries that reference a slice; at zero the slice moves to
 *    pending_slice and its objects are deleted later by gc workers;
 *  - dropped_chunk holds slice lists cut off by truncate/unlink, released by a background job;
 *  - counter rows: next_inode, next_slice (last id handed out), used_space, used_inodes.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE volume (
      id smallint PRIMARY KEY CHECK (id = 1),
      uuid uuid NOT NULL,
      name text NOT NULL,
      block_size integer NOT NULL,
      compression text NOT NULL,
      storage text NOT NULL,
      trash_days integer NOT NULL,
      format_version integer NOT NULL,
      capacity int8 NOT NULL DEFAULT 0,
      inodes int8 NOT NULL DEFAULT 0,
      created_at int8 NOT NULL
    );
    CREATE TABLE counter (name text PRIMARY KEY, value int8 NOT NULL);
    CREATE TABLE node (
      inode int8 PRIMARY KEY,
      type smallint NOT NULL,
      mode integer NOT NULL,
      uid int8 NOT NULL,
      gid int8 NOT NULL,
      atime int8 NOT NULL,
      mtime int8 NOT NULL,
      ctime int8 NOT NULL,
      nlink integer NOT NULL,
      length int8 NOT NULL DEFAULT 0,
      rdev integer NOT NULL DEFAULT 0,
      parent int8 NOT NULL
    );
    CREATE TABLE edge (
      parent int8 NOT NULL,
      name bytea NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
      inode int8 NOT NULL,
      type smallint NOT NULL,
      PRIMARY KEY (parent, name)
    );
    CREATE INDEX edge_inode ON edge (inode);
    CREATE TABLE symlink (inode int8 PRIMARY KEY, target bytea NOT NULL);
    CREATE TABLE xattr (inode int8 NOT NULL, name bytea NOT NULL, value bytea NOT NULL, PRIMARY KEY (inode, name));
    CREATE TABLE chunk (
      inode int8 NOT NULL,
      idx integer NOT NULL,
      slices bytea NOT NULL,
      version integer NOT NULL DEFAULT 0,
      PRIMARY KEY (inode, idx)
    );
    CREATE TABLE slice_ref (id int8 PRIMARY KEY, size integer NOT NULL, refs integer NOT NULL);
    CREATE TABLE dropped_chunk (seq bigserial PRIMARY KEY, inode int8 NOT NULL, slices bytea NOT NULL, dropped_at int8 NOT NULL);
    CREATE TABLE pending_slice (id int8 PRIMARY KEY, size integer NOT NULL, released_at int8 NOT NULL);
    CREATE TABLE delfile (inode int8 PRIMARY KEY, length int8 NOT NULL, deleted_at int8 NOT NULL);
    CREATE TABLE session (sid int8 PRIMARY KEY, expire int8 NOT NULL, info jsonb NOT NULL);
    CREATE INDEX session_expire ON session (expire);
    CREATE TABLE sustained (sid int8 NOT NULL, inode int8 NOT NULL, PRIMARY KEY (sid, inode));
    INSERT INTO counter (name, value) VALUES ('next_inode', 1), ('next_slice', 0), ('next_session', 0), ('used_space', 0), ('used_inodes', 0);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS volume, counter, node, edge, symlink, xattr, chunk, slice_ref, dropped_chunk, pending_slice, delfile, session, sustained`.execute(db);
}
