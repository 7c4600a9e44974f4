/**
 * Counts database round trips by counting `pg.Client#query` calls. Both engines reach the
 * database through node-postgres (PGlite through its pg adapter), and every Kysely statement,
 * BEGIN and COMMIT is one `query` call: one message exchange with the server (the extended
 * protocol sends Parse/Bind/Execute/Sync in one write). The count is global, so only the
 * engine under test may run queries while a phase is being counted.
 */
import pg from 'pg';

let installed = false;
let count = 0;

/** Wraps pg.Client#query once per process; the wrapper only increments a number. */
export function installRoundTripCounter(): void {
  if (installed) return;
  installed = true;
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function countedQuery(this: unknown, ...args: unknown[]): unknown {
    count++;
    return original.apply(this, args);
  };
}

/** Queries issued so far in this process. */
export function roundTrips(): number {
  return count;
}
