/**
 * Diagnostic preload for the ObjectFS mount daemon (mount-bench --objectfs-probe): counts what
 * each syscall of a phase costs inside the daemon, without touching src/.
 *
 *   node --import dist/bench/support/daemon-probe.js dist/src/cli/bin.js mount …
 *
 * - FUSE operations: every `_op_<name>` of fuse-native's Fuse class is wrapped, counting the
 *   calls and the time from dispatch on the main thread to the reply (the daemon's share of
 *   the operation: what the kernel, libfuse's thread hand-off and the caller add is outside).
 * - Database round trips: `pg.Client#query` calls (as bench/support/round-trips.ts counts
 *   them) and the time until each one settles; each is also charged to the FUSE operation
 *   being handled (the latest dispatched that has not replied).
 *
 * On SIGUSR2 it writes the totals so far to $OBJECTFS_BENCH_PROBE_FILE (synchronously, with a
 * sequence number), so the bench can take a snapshot before and after a phase.
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import pg from 'pg';

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

const require = createRequire(import.meta.url);
const Fuse = require('fuse-native') as { prototype: Record<string, unknown> };
for (const key of Object.getOwnPropertyNames(Fuse.prototype)) {
  if (!key.startsWith('_op_') || key === '_op_init' || key === '_op_error') continue;
  const original = Fuse.prototype[key] as (this: unknown, signal: (...r: unknown[]) => unknown, ...args: unknown[]) => unknown;
  const name = key.slice(4);
  const stat: OpStat = (ops[name] = { n: 0, ns: 0, queries: 0 });
  Fuse.prototype[key] = function probed(this: unknown, signal: (...r: unknown[]) => unknown, ...args: unknown[]): unknown {
    const t0 = process.hrtime.bigint();
    stat.n++;
    if (name === 'read') {
      // _op_read(signal, path, fd, buf, len, offsetLow, offsetHigh)
      const [, fd, , len, low, high] = args as [string, number, Buffer, number, number, number];
      const off = high * 2 ** 32 + (low >>> 0);
      if (lastEnd.get(fd) === off) reads.sequential++;
      else reads.other++;
      lastEnd.set(fd, off + len);
    }
    active.unshift(stat);
    return original.call(this, (...r: unknown[]) => {
      stat.ns += Number(process.hrtime.bigint() - t0);
      const i = active.indexOf(stat);
      if (i >= 0) active.splice(i, 1);
      return signal(...r);
    }, ...args);
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
