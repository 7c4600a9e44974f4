/**
 * Structural invariants of a metadata database, checked with direct SQL (through `pg`, not
 * the engine under test) against the schema of migrations/0001-initial.ts. Run them on a
 * quiescent database: after every engine on it has finished its operations.
 */
import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';

/** node.type / edge.type of a directory. */
const DIR = 2;
/** The trash directory (decision 78): no entry names it; lookup of /.trash finds it. */
const TRASH = 2 ** 47;

interface Check {
  readonly what: string;
  /** Returns the offending rows; none when the invariant holds. */
  readonly sql: string;
}

const CHECKS: readonly Check[] = [
  {
    what: 'the root (inode 1) exists and is a directory whose parent is itself',
    sql: `SELECT 'missing or wrong' AS problem WHERE NOT EXISTS (SELECT 1 FROM node WHERE inode = 1 AND type = ${DIR} AND parent = 1)`,
  },
  {
    what: 'nothing links to the root',
    sql: 'SELECT parent, encode(name, \'hex\') AS name FROM edge WHERE inode = 1',
  },
  {
    what: 'every edge points at an existing node',
    sql: 'SELECT e.parent, encode(e.name, \'hex\') AS name, e.inode FROM edge e LEFT JOIN node n ON n.inode = e.inode WHERE n.inode IS NULL',
  },
  {
    what: 'every edge hangs off an existing directory',
    sql: `SELECT e.parent, encode(e.name, 'hex') AS name, p.type AS parent_type FROM edge e LEFT JOIN node p ON p.inode = e.parent
          WHERE p.inode IS NULL OR p.type <> ${DIR}`,
  },
  {
    what: 'edge.type matches node.type',
    sql: 'SELECT e.parent, encode(e.name, \'hex\') AS name, e.type AS edge_type, n.type AS node_type FROM edge e JOIN node n ON n.inode = e.inode WHERE e.type <> n.type',
  },
  {
    what: "a non-directory's nlink equals its number of edges",
    sql: `SELECT n.inode, n.nlink, count(e.inode) AS edges FROM node n LEFT JOIN edge e ON e.inode = n.inode
          WHERE n.type <> ${DIR} GROUP BY n.inode, n.nlink HAVING n.nlink <> count(e.inode)`,
  },
  {
    what: 'an inode without links is kept only while it is pending deletion (sustained by a session, or in delfile)',
    sql: `SELECT n.inode FROM node n WHERE n.nlink = 0
          AND NOT EXISTS (SELECT 1 FROM sustained s WHERE s.inode = n.inode)
          AND NOT EXISTS (SELECT 1 FROM delfile d WHERE d.inode = n.inode)`,
  },
  {
    what: "a directory's nlink is 2 + its number of subdirectories",
    sql: `SELECT d.inode, d.nlink, (SELECT count(*) FROM edge e WHERE e.parent = d.inode AND e.type = ${DIR}) AS subdirs
          FROM node d WHERE d.type = ${DIR}
          AND d.nlink <> 2 + (SELECT count(*) FROM edge e WHERE e.parent = d.inode AND e.type = ${DIR})`,
  },
  {
    what: 'every directory but the root and the trash has exactly one name (no two parents, no orphans)',
    sql: `SELECT d.inode, count(e.inode) AS names FROM node d LEFT JOIN edge e ON e.inode = d.inode
          WHERE d.type = ${DIR} AND d.inode NOT IN (1, ${TRASH}) GROUP BY d.inode HAVING count(e.inode) <> 1`,
  },
  {
    what: "a directory's recorded parent is the directory holding its name",
    sql: `SELECT d.inode, d.parent, e.parent AS edge_parent FROM node d JOIN edge e ON e.inode = d.inode
          WHERE d.type = ${DIR} AND d.parent <> e.parent`,
  },
  {
    what: 'every linked inode is reachable from the root or the trash (no detached cycles)',
    sql: `WITH RECURSIVE r(inode) AS (SELECT inode FROM node WHERE inode IN (1, ${TRASH}) UNION SELECT e.inode FROM edge e JOIN r ON e.parent = r.inode AND e.type = ${DIR})
          SELECT n.inode, n.type FROM node n WHERE n.nlink > 0
          AND NOT EXISTS (SELECT 1 FROM r WHERE r.inode = n.inode)
          AND NOT EXISTS (SELECT 1 FROM edge e JOIN r ON r.inode = e.parent WHERE e.inode = n.inode)`,
  },
];

/** Violations found in the database at `url`, one line per broken invariant (empty: all hold). */
export async function metaInvariantViolations(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const out: string[] = [];
    for (const check of CHECKS) {
      const { rows } = await client.query(check.sql);
      if (rows.length > 0) {
        out.push(`${check.what}: ${rows.length} violation(s), e.g. ${JSON.stringify(rows.slice(0, 5))}`);
      }
    }
    return out;
  } finally {
    await client.end();
  }
}

/** Backends of the database at `url` (other than the caller) that sit inside an open transaction. */
export async function idleInTransaction(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  // Two looks 300 ms apart: a background transaction (the usage-counter fold, once a second)
  // may be between its statements at the first; one left open is still there, the same one.
  const look = async () => (await client.query<{ pid: number; state: string; query: string; xact: string }>(
    `SELECT pid, state, query, xact_start::text AS xact FROM pg_stat_activity
     WHERE datname = current_database() AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'`)).rows;
  try {
    const first = await look();
    if (first.length === 0) return [];
    await sleep(300);
    const again = new Set((await look()).map((r) => `${r.pid} ${r.xact}`));
    return first.filter((r) => again.has(`${r.pid} ${r.xact}`)).map((r) => `pid ${r.pid} ${r.state} since ${r.xact}: ${r.query.slice(0, 200)}`);
  } finally {
    await client.end();
  }
}
