/**
 * Enforced quotas (decision 79).
 *
 * `dir_quota` holds a directory's limits (0 = none) and its folded usage; `quota_delta` is its
 * journal, written by triggers in the transaction that changed the usage (exact by
 * construction, as `usage_delta` is for the volume) and folded with the volume's counters.
 * Usage of a quota'd directory Q counts every NAME beneath Q (each name of a hard link counts
 * in its tree) with the space of the inode it names (rounded up to 4 KiB, as the volume counts).
 *
 *  - An edge inserted, deleted or repointed beneath Q adds or takes the usage of what the name
 *    brings: the inode, and for a directory everything beneath it (a rename of a directory
 *    across a quota boundary walks its subtree once; renames within one tree net to zero).
 *  - A length change adds its difference for every name of the inode.
 *  - The quota'd ancestors are found by walking `node.parent` from the edge's parent (only
 *    when `dir_quota` has a row: without directory quotas the triggers cost one index probe).
 *
 * Names added (create, link, rename) are checked at commit by a deferred constraint trigger:
 * if the transaction's own named changes grow a tree that is then over its limit, the commit
 * fails with SQLSTATE OQ001 (EDQUOT); a create past the volume's inode quota with OQ002
 * (ENOSPC). Length changes are never refused here: a commit carries writes already
 * acknowledged, so space is checked at write(2) time by the vfs (src/vfs/quota-guard.ts).
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE dir_quota (
      inode int8 PRIMARY KEY,
      max_space int8 NOT NULL DEFAULT 0,
      max_inodes int8 NOT NULL DEFAULT 0,
      used_space int8 NOT NULL DEFAULT 0,
      used_inodes int8 NOT NULL DEFAULT 0
    );
    CREATE TABLE quota_delta (inode int8 NOT NULL, space int8 NOT NULL, inodes int8 NOT NULL, named boolean NOT NULL);
    CREATE INDEX quota_delta_inode ON quota_delta (inode);

    CREATE FUNCTION objectfs_quota_dirs(dir int8) RETURNS int8[] LANGUAGE sql STABLE AS $$
      WITH RECURSIVE up(inode, depth) AS (
        SELECT dir, 0
        UNION ALL
        SELECT n.parent, up.depth + 1 FROM node n JOIN up ON n.inode = up.inode
        WHERE up.inode <> 1 AND n.parent <> 0 AND up.depth < 10000)
      SELECT coalesce(array_agg(q.inode), '{}') FROM up JOIN dir_quota q ON q.inode = up.inode
    $$;

    -- What one name brings into a tree: the inode it names and, for a directory, every name
    -- beneath it. A name whose node is already gone still counts as one inode.
    CREATE FUNCTION objectfs_tree_usage(ino int8, OUT space int8, OUT inodes int8) LANGUAGE sql STABLE AS $$
      WITH RECURSIVE t(inode) AS (
        SELECT ino
        UNION ALL
        SELECT e.inode FROM edge e JOIN t ON e.parent = t.inode)
      SELECT coalesce(sum((n.length + 4095) / 4096 * 4096), 0)::int8, count(*)::int8
      FROM t LEFT JOIN node n ON n.inode = t.inode
    $$;

    CREATE FUNCTION objectfs_quota_edge() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE dirs int8[]; u record;
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM dir_quota) THEN RETURN NULL; END IF;
      IF TG_OP <> 'INSERT' THEN
        dirs := objectfs_quota_dirs(OLD.parent);
        IF cardinality(dirs) > 0 THEN
          SELECT * INTO u FROM objectfs_tree_usage(OLD.inode);
          INSERT INTO quota_delta SELECT d, -u.space, -u.inodes, true FROM unnest(dirs) d;
        END IF;
      END IF;
      IF TG_OP <> 'DELETE' THEN
        dirs := objectfs_quota_dirs(NEW.parent);
        IF cardinality(dirs) > 0 THEN
          SELECT * INTO u FROM objectfs_tree_usage(NEW.inode);
          INSERT INTO quota_delta SELECT d, u.space, u.inodes, true FROM unnest(dirs) d;
        END IF;
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER edge_quota AFTER INSERT OR DELETE OR UPDATE OF parent, inode ON edge
      FOR EACH ROW EXECUTE FUNCTION objectfs_quota_edge();

    CREATE FUNCTION objectfs_quota_length() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM dir_quota) THEN RETURN NULL; END IF;
      INSERT INTO quota_delta
        SELECT d, (NEW.length + 4095) / 4096 * 4096 - (OLD.length + 4095) / 4096 * 4096, 0, false
        FROM edge e, unnest(objectfs_quota_dirs(e.parent)) d WHERE e.inode = NEW.inode;
      RETURN NULL;
    END $$;
    CREATE TRIGGER node_quota_length AFTER UPDATE OF length ON node
      FOR EACH ROW WHEN ((NEW.length + 4095) / 4096 <> (OLD.length + 4095) / 4096)
      EXECUTE FUNCTION objectfs_quota_length();

    -- At commit: did this transaction's names grow the tree past its limit?
    CREATE FUNCTION objectfs_quota_check() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE q record; mine record;
    BEGIN
      SELECT coalesce(sum(space), 0) AS space, coalesce(sum(inodes), 0) AS inodes INTO mine
        FROM quota_delta WHERE inode = NEW.inode AND named AND xmin = pg_current_xact_id()::xid;
      IF mine.space <= 0 AND mine.inodes <= 0 THEN RETURN NULL; END IF;
      SELECT dq.max_space, dq.max_inodes,
             dq.used_space + coalesce(sum(d.space), 0) AS space, dq.used_inodes + coalesce(sum(d.inodes), 0) AS inodes
        INTO q FROM dir_quota dq LEFT JOIN quota_delta d ON d.inode = dq.inode
        WHERE dq.inode = NEW.inode GROUP BY dq.inode;
      IF NOT FOUND THEN RETURN NULL; END IF;
      IF (mine.space > 0 AND q.max_space > 0 AND q.space > q.max_space)
         OR (mine.inodes > 0 AND q.max_inodes > 0 AND q.inodes > q.max_inodes) THEN
        RAISE EXCEPTION 'quota of directory % exceeded', NEW.inode USING ERRCODE = 'OQ001';
      END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER quota_delta_check AFTER INSERT ON quota_delta DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW WHEN (NEW.named AND (NEW.space > 0 OR NEW.inodes > 0))
      EXECUTE FUNCTION objectfs_quota_check();

    CREATE FUNCTION objectfs_volume_inodes_check() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE lim int8;
    BEGIN
      SELECT inodes INTO lim FROM volume WHERE id = 1;
      IF lim > 0 AND (SELECT value FROM counter WHERE name = 'used_inodes') + (SELECT coalesce(sum(inodes), 0) FROM usage_delta) > lim THEN
        RAISE EXCEPTION 'volume inode quota % exceeded', lim USING ERRCODE = 'OQ002';
      END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER usage_delta_inodes_check AFTER INSERT ON usage_delta DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW WHEN (NEW.inodes > 0)
      EXECUTE FUNCTION objectfs_volume_inodes_check();
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TRIGGER usage_delta_inodes_check ON usage_delta;
    DROP FUNCTION objectfs_volume_inodes_check();
    DROP TRIGGER node_quota_length ON node;
    DROP TRIGGER edge_quota ON edge;
    DROP TABLE quota_delta;
    DROP TABLE dir_quota;
    DROP FUNCTION objectfs_quota_check();
    DROP FUNCTION objectfs_quota_length();
    DROP FUNCTION objectfs_quota_edge();
    DROP FUNCTION objectfs_tree_usage(int8);
    DROP FUNCTION objectfs_quota_dirs(int8);
  `.execute(db);
}
