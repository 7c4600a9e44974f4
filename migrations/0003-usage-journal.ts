/**
 * Usage counters exact by construction (decision 50). A trigger on `node` appends each change
 * of usage (bytes in 4 KiB units, inodes) to `usage_delta` inside the transaction that made
 * it, so a client that dies loses nothing and a rerun transaction journals nothing twice.
 * Clients fold the journal into the `counter` rows about once a second; the volume's usage is
 * always `counter + sum(usage_delta)`.
 *
 * Inserts never conflict (no key), so writers on many hosts never wait for each other here,
 * which is why the trigger does not update the counter rows directly. Existing counters are
 * recomputed from the nodes, because the in-memory scheme before this could leave them behind
 * after a crash.
 */
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE usage_delta (space int8 NOT NULL, inodes int8 NOT NULL);
    CREATE FUNCTION objectfs_usage_delta() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        INSERT INTO usage_delta VALUES ((NEW.length + 4095) / 4096 * 4096, 1);
      ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO usage_delta VALUES (-((OLD.length + 4095) / 4096 * 4096), -1);
      ELSE
        INSERT INTO usage_delta VALUES ((NEW.length + 4095) / 4096 * 4096 - (OLD.length + 4095) / 4096 * 4096, 0);
      END IF;
      RETURN NULL;
    END $$;
    CREATE TRIGGER node_usage_rows AFTER INSERT OR DELETE ON node
      FOR EACH ROW EXECUTE FUNCTION objectfs_usage_delta();
    CREATE TRIGGER node_usage_length AFTER UPDATE OF length ON node
      FOR EACH ROW WHEN ((NEW.length + 4095) / 4096 <> (OLD.length + 4095) / 4096)
      EXECUTE FUNCTION objectfs_usage_delta();
    UPDATE counter SET value = CASE name
        WHEN 'used_space' THEN (SELECT coalesce(sum((length + 4095) / 4096 * 4096), 0)::int8 FROM node)
        ELSE (SELECT count(*) FROM node) END
      WHERE name IN ('used_space', 'used_inodes');
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    DROP TRIGGER node_usage_length ON node;
    DROP TRIGGER node_usage_rows ON node;
    DROP FUNCTION objectfs_usage_delta();
    DROP TABLE usage_delta;
  `.execute(db);
}
