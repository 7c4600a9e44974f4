/**
 * Diagnostic preload for the ObjectFS mount daemon (mount-bench --objectfs-probe): counts what
 * each syscall of a phase costs inside the daemon, without touching src/.
 *
 *   node --import dist/bench/support/daemon-probe.js dist/src/cli/bin.js mount …
 *
 * - FUSE operations: the binding's dispatch and reply functions are wrapped, counting the
 *   requests and the time from delivery on the main thread to the reply (the daemon's share of
 *   the operation: what the kernel, libfuse's thread hand-off and the caller add is outside).
 * - Database round trips: `pg.Client#query` calls (as bench/support/round-trips.ts counts
 *   them) and the time until each one settles; each is also charged to the FUSE operation
 *   being handled (the latest dispatched that has not replied).
 *
 * On SIGUSR2 it writes the totals so far to $OBJECTFS_BENCH_PROBE_FILE (synchronously, with a
 * sequence number), so the bench can take a snapshot before and after a phase.
 */
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { loadBinding, OP_NAMES, type Request } from '../../src/fuse/native.js';

interface OpStat { n: number; ns: number; queries: number }

const file = process.env['OBJECTFS_BENCH_PROBE_FILE'];
const ops: Record<string, OpStat> = {};
const db = { queries: 0, ns: 0 };
/**
 * The operations being handled, latest first: a query is charged to the latest one. Exact
 * when the caller has one syscall in flight and the kernel sends its operations one by one
 * (the bench's metadata phases); approximate under readahead or background work.
 */
const active: OpStat[] = [];
/**
 * Reads that start where the previous read of the same handle ended, and the others. The
 * vfs's readahead only grows its window on the former (src/vfs/readahead.ts).
 */
const reads = { sequential: 0, other: 0 };
const lastEnd = new Map<number, number>();
let seq = 0;

// The binding is one object shared by every importer: wrap its mount (to see each delivered
// request) and its replies (to see when each is answered).
const binding = loadBinding() as unknown as Record<string, (...args: unknown[]) => unknown>;
const inFlight = new Map<unknown, { stat: OpStat; t0: bigint }>();
const mount = binding['mount'] as (...args: unknown[]) => unknown;
binding['mount'] = (mnt: unknown, argv: unknown, config: unknown, dispatch: unknown) => mount(mnt, argv, config, (batch: Request[]) => {
  for (const r of batch) {
    if (r.req === undefined) continue;
    const name = OP_NAMES[r.op] ?? String(r.op);
    const stat = (ops[name] ??= { n: 0, ns: 0, queries: 0 });
    stat.n++;
    if (name === 'read') {
      const fh = r.fh ?? 0;
      if (lastEnd.get(fh) === r.off) reads.sequential++;
      else reads.other++;
      lastEnd.set(fh, (r.off ?? 0) + (r.size ?? 0));
    }
    inFlight.set(r.req, { stat, t0: process.hrtime.bigint() });
    active.unshift(stat);
  }
  (dispatch as (b: Request[]) => void)(batch);
});
for (const key of Object.keys(binding)) {
  if (!key.startsWith('reply')) continue;
  const reply = binding[key] as (...args: unknown[]) => unknown;
  binding[key] = (req: unknown, ...rest: unknown[]) => {
    const started = inFlight.get(req);
    if (started !== undefined) {
      inFlight.delete(req);
      started.stat.ns += Number(process.hrtime.bigint() - started.t0);
      const i = active.indexOf(started.stat);
      if (i >= 0) active.splice(i, 1);
    }
    return reply(req, ...rest);
  };
}

const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
const query = proto.query;
proto.query = function probedQuery(this: unknown, ...args: unknown[]): unknown {
  db.queries++;
  if (active[0] !== undefined) active[0].queries++;
  const t0 = process.hrtime.bigint();
  const r = query.apply(this, args);
  if (r !== null && typeof r === 'object' && typeof (r as Promise<unknown>).then === 'function') {
    const done = (): void => { db.ns += Number(process.hrtime.bigint() - t0); };
    (r as Promise<unknown>).then(done, done);
  }
  return r;
};

if (file !== undefined) {
  process.on('SIGUSR2', () => {
    seq++;
    const live = Object.fromEntries(Object.entries(ops).filter(([, s]) => s.n > 0));
    writeFileSync(file, JSON.stringify({ seq, ops: live, db, reads }));
  });
}
