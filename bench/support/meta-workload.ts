/**
 * The metadata operations the benchmark times, driven through the MetaEngine contract only.
 *
 * One "phase" times n calls of one operation with `concurrency` calls in flight (1 = latency,
 * more = throughput over one engine), counting round trips while it runs. The per-operation
 * sequence runs in one fresh directory and leaves each operation's input ready for the next:
 *
 *   create f<i>, lookup f<i> and getattr (random order), setattr (chmod), rename f<i> → r<i>,
 *   link r<i> → l<i>, [untimed: unlink l<i>], unlink r<i> (the last link: the inode goes),
 *   mkdir d<i>, and with more than one op in flight, create-spread: the creates again, file i in
 *   directory i mod C (one directory per in-flight op)
 *
 * which matches what JuiceFS's pkg/meta/benchmarks_test.go times (its unlink also removes the
 * last link; its rename and link stay within one directory).
 */
import type { MetaEngine, Caller } from '../../src/meta/index.js';
import { makeRng } from '../../test/support/prng.js';
import { roundTrips } from './round-trips.js';
import { round, summarize, type LatencySummary } from './stats.js';

export const ROOT_INO = 1;
const CALLER: Caller = { uid: 0, gid: 0 };

/** Operations of the per-op sequence, in the order they run. */
export const SEQUENCE_OPS = ['create', 'lookup', 'getattr', 'setattr', 'rename', 'link', 'unlink', 'mkdir', 'create-spread'] as const;
export type SequenceOp = (typeof SEQUENCE_OPS)[number];

export interface PhaseResult {
  readonly op: string;
  readonly concurrency: number;
  readonly latency: LatencySummary;
  /** Database round trips per operation (queries incl. BEGIN/COMMIT, counted over the phase). */
  readonly tripsPerOp: number;
}

export interface TimedBatch {
  readonly samplesNs: Float64Array;
  readonly wallNs: number;
  readonly trips: number;
}

/** Runs fn(0..n-1) with `concurrency` calls in flight, timing each call. */
export async function timeBatch(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<TimedBatch> {
  const samples = new Float64Array(n);
  let next = 0;
  const trips0 = roundTrips();
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const s = process.hrtime.bigint();
      await fn(i);
      samples[i] = Number(process.hrtime.bigint() - s);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
  const wallNs = Number(process.hrtime.bigint() - t0);
  return { samplesNs: samples, wallNs, trips: roundTrips() - trips0 };
}

/** Runs fn(0..n-1) with `concurrency` in flight, untimed (setup and cleanup). */
export async function runBatch(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) await fn(i);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function phase(op: string, concurrency: number, batch: TimedBatch): PhaseResult {
  const latency = summarize(batch.samplesNs, batch.wallNs);
  return { op, concurrency, latency, tripsPerOp: round(batch.trips / latency.n, 3) };
}

const name = (prefix: string, i: number): Buffer => Buffer.from(`${prefix}${i}`);

/** A random permutation of 0..n-1 (seeded, so runs are repeatable). */
function permutation(n: number, seed: number): Uint32Array {
  const rng = makeRng(seed);
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = p[i] as number;
    p[i] = p[j] as number;
    p[j] = t;
  }
  return p;
}

/**
 * The whole per-op sequence in a new directory `dirName` under the root, n operations each.
 * `onPhase` sees each result as it completes (progress output).
 */
export async function runSequence(
  engine: MetaEngine, dirName: string, n: number, concurrency: number, seed: number,
  onPhase: (r: PhaseResult) => void = () => undefined,
): Promise<PhaseResult[]> {
  const dir = (await engine.mkdir(CALLER, ROOT_INO, Buffer.from(dirName), 0o755)).ino;
  const inos = new Float64Array(n);
  const order = permutation(n, seed);
  const results: PhaseResult[] = [];
  const timed = async (op: SequenceOp, fn: (i: number) => Promise<unknown>): Promise<void> => {
    const r = phase(op, concurrency, await timeBatch(n, concurrency, fn));
    results.push(r);
    onPhase(r);
  };
  await timed('create', async (i) => {
    inos[i] = (await engine.mknod(CALLER, dir, name('f', i), 'file', 0o644)).ino;
  });
  await timed('lookup', (i) => engine.lookup(dir, name('f', order[i] as number)));
  await timed('getattr', (i) => engine.getattr(inos[order[i] as number] as number));
  await timed('setattr', (i) => engine.setattr(inos[i] as number, { mode: i % 2 === 0 ? 0o600 : 0o644 }));
  await timed('rename', (i) => engine.rename(dir, name('f', i), dir, name('r', i)));
  await timed('link', (i) => engine.link(inos[i] as number, dir, name('l', i)));
  await runBatch(n, Math.max(concurrency, 8), (i) => engine.unlink(dir, name('l', i)));
  await timed('unlink', async (i) => {
    const res = await engine.unlink(dir, name('r', i));
    if (!res.gone && res.trashed !== true) throw new Error(`unlink of r${i} left inode ${res.ino} linked: the bench expects the last link`);
  });
  await timed('mkdir', (i) => engine.mkdir(CALLER, dir, name('d', i), 0o755));
  if (concurrency > 1) {
    // The same creates spread over one directory per in-flight op: what is left of the
    // same-directory figure once the parent directory's row lock is no longer shared.
    const spread: number[] = [];
    for (let w = 0; w < concurrency; w++) spread.push((await engine.mkdir(CALLER, dir, name('spread-', w), 0o755)).ino);
    await timed('create-spread', (i) => engine.mknod(CALLER, spread[i % concurrency] as number, name('f', i), 'file', 0o644));
  }
  return results;
}

/** Creates `entries` files in a new directory (concurrently); returns its inode and the time taken. */
export async function makeDirectory(engine: MetaEngine, dirName: string, entries: number, concurrency: number): Promise<{ ino: number; ms: number }> {
  const ino = (await engine.mkdir(CALLER, ROOT_INO, Buffer.from(dirName), 0o755)).ino;
  const ms = await runBatch(entries, concurrency, (i) => engine.mknod(CALLER, ino, name('entry-', i), 'file', 0o644));
  return { ino, ms };
}

/** Lists a directory completely with the default page size; checks the entry count. */
export async function listAll(engine: MetaEngine, ino: number, expected: number): Promise<{ entries: number; pages: number; firstPage: number }> {
  let after: Buffer | undefined;
  let entries = 0;
  let pages = 0;
  let firstPage = 0;
  do {
    const page = await engine.readdir(ino, after === undefined ? {} : { after });
    if (pages === 0) firstPage = page.entries.length;
    entries += page.entries.length;
    pages++;
    after = page.next;
  } while (after !== undefined);
  if (entries !== expected) throw new Error(`readdir of inode ${ino} listed ${entries} entries, expected ${expected}`);
  return { entries, pages, firstPage };
}

export interface ReaddirResult {
  readonly entries: number;
  readonly concurrency: number;
  /** Planner statistics of the edge table when listed: 'analyzed', or 'none' (never ANALYZEd). */
  readonly statistics: 'analyzed' | 'none';
  /** One operation = one complete listing. */
  readonly listing: LatencySummary;
  readonly msPerListing: number;
  readonly usPerEntry: number;
  readonly entriesPerSec: number;
  readonly pagesPerListing: number;
  /** Entries in the first page: the engine's default page size. */
  readonly pageSize: number;
  readonly tripsPerListing: number;
}

/** Times `listings` complete listings of a directory of `entries` entries. */
export async function timeReaddir(
  engine: MetaEngine, ino: number, entries: number, listings: number, concurrency: number, statistics: 'analyzed' | 'none',
): Promise<ReaddirResult> {
  let pages = 0;
  let pageSize = 0;
  const batch = await timeBatch(listings, concurrency, async () => {
    const r = await listAll(engine, ino, entries);
    pages = r.pages;
    pageSize = r.firstPage;
  });
  const listing = summarize(batch.samplesNs, batch.wallNs);
  return {
    entries,
    concurrency,
    statistics,
    listing,
    msPerListing: round(listing.meanUs / 1000, 2),
    usPerEntry: round(listing.meanUs / entries, 2),
    entriesPerSec: Math.round(listing.opsPerSec * entries),
    pagesPerListing: pages,
    pageSize,
    tripsPerListing: round(batch.trips / listings, 2),
  };
}
