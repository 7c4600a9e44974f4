/**
 * Four engines (four pg pools, like four hosts) hammer one directory tree on one PostgreSQL
 * database with random creates, mkdirs, renames (plain, NOREPLACE, EXCHANGE, across
 * directories, over existing names), unlinks, rmdirs and links, for OBJECTFS_STRESS_SECONDS
 * (default 30), with the trash on. Meanwhile renames of a dedicated pair of names are watched through readdir,
 * which is one statement: every listing must show exactly one of the two names. Afterwards
 * the database's structural invariants are checked with direct SQL.
 *
 * PostgreSQL only: PGlite serves one engine per database. Replay a run with OBJECTFS_SEED.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { FsError } from '../../../src/errors.js';
import type { ErrnoCode } from '../../../src/errors.js';
import { RENAME_EXCHANGE, RENAME_NOREPLACE, ROOT_INO } from '../../../src/meta/index.js';
import type { MetaEngine } from '../../../src/meta/index.js';
import { META_KINDS, freshMeta } from '../../support/meta.js';
import { makeRng, testSeed } from '../../support/prng.js';
import type { Rng } from '../../support/prng.js';
import { idleInTransaction, metaInvariantViolations } from './invariants.js';

const SECONDS = Number(process.env['OBJECTFS_STRESS_SECONDS'] ?? '30');
const ENGINES = 4;
/** Concurrent workers per engine (each engine's pool holds 10 connections). */
const WORKERS_PER_ENGINE = 3;
/** An operation that takes longer than this is reported as hung (a leaked lock or deadlock). */
const OP_DEADLINE_MS = 30_000;
/** The errnos that racing POSIX operations may legitimately return. */
const EXPECTED: ReadonlySet<ErrnoCode> = new Set(['ENOENT', 'EEXIST', 'ENOTEMPTY', 'EISDIR', 'ENOTDIR', 'EINVAL']);
const NAMES = Array.from({ length: 16 }, (_, i) => Buffer.from(`n${i}`));
const CALLER = { uid: 1000, gid: 1000 };

type OpName = 'create' | 'mkdir' | 'symlink' | 'rename' | 'rename-noreplace' | 'rename-exchange'
  | 'unlink' | 'rmdir' | 'link' | 'readdir';
const OPS: readonly { readonly op: OpName; readonly weight: number }[] = [
  { op: 'create', weight: 14 }, { op: 'mkdir', weight: 10 }, { op: 'symlink', weight: 3 },
  { op: 'rename', weight: 18 }, { op: 'rename-noreplace', weight: 5 }, { op: 'rename-exchange', weight: 7 },
  { op: 'unlink', weight: 12 }, { op: 'rmdir', weight: 9 }, { op: 'link', weight: 8 }, { op: 'readdir', weight: 6 },
];
const TOTAL_WEIGHT = OPS.reduce((s, o) => s + o.weight, 0);

interface OpStats {
  ok: number;
  errnos: Map<string, number>;
  ms: number;
}

class Stats {
  readonly byOp = new Map<OpName, OpStats>();
  readonly unexpected: string[] = [];
  unexpectedCount = 0;

  record(op: OpName, ms: number, errno?: string): void {
    let s = this.byOp.get(op);
    if (s === undefined) this.byOp.set(op, s = { ok: 0, errnos: new Map(), ms: 0 });
    s.ms += ms;
    if (errno === undefined) s.ok++;
    else s.errnos.set(errno, (s.errnos.get(errno) ?? 0) + 1);
  }

  fail(what: string): void {
    this.unexpectedCount++;
    if (this.unexpected.length < 10) this.unexpected.push(what);
  }
}

function pickOp(rng: Rng): OpName {
  let x = rng.int(0, TOTAL_WEIGHT - 1);
  for (const o of OPS) {
    if (x < o.weight) return o.op;
    x -= o.weight;
  }
  throw new Error('unreachable');
}

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(0, list.length - 1)]!;
}

/** Runs `fn` but rejects with a "hung" error after OP_DEADLINE_MS. */
async function withDeadline<T>(what: string, fn: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} hung for ${OP_DEADLINE_MS} ms`)), OP_DEADLINE_MS);
  });
  try {
    return await Promise.race([fn(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** One random operation on the hot tree; throws whatever the engine throws. */
async function randomOp(meta: MetaEngine, rng: Rng, op: OpName, fixedDirs: readonly number[]): Promise<void> {
  // A parent is one of the fixed directories, or now and then a directory made by the workload,
  // so that renames also move directories under each other (EINVAL for loops, lock ordering).
  const parent = async (): Promise<number> => {
    const fixed = pick(rng, fixedDirs);
    if (rng.int(0, 3) !== 0) return fixed;
    const a = await meta.lookup(fixed, pick(rng, NAMES));
    return a.type === 'directory' ? a.ino : fixed;
  };
  switch (op) {
    case 'create': await meta.mknod(CALLER, await parent(), pick(rng, NAMES), 'file', 0o644); return;
    case 'mkdir': await meta.mkdir(CALLER, await parent(), pick(rng, NAMES), 0o755); return;
    case 'symlink': await meta.symlink(CALLER, await parent(), pick(rng, NAMES), Buffer.from('target')); return;
    case 'rename':
    case 'rename-noreplace':
    case 'rename-exchange': {
      const flags = op === 'rename' ? 0 : op === 'rename-noreplace' ? RENAME_NOREPLACE : RENAME_EXCHANGE;
      // Half the renames guess the target free: the one-statement rename races the full one.
      await meta.rename(await parent(), pick(rng, NAMES), await parent(), pick(rng, NAMES), flags, rng.int(0, 1) === 1);
      return;
    }
    case 'unlink': await meta.unlink(await parent(), pick(rng, NAMES)); return;
    case 'rmdir': await meta.rmdir(await parent(), pick(rng, NAMES)); return;
    case 'link': {
      const a = await meta.lookup(await parent(), pick(rng, NAMES));
      if (a.type === 'directory') return; // link to a directory is EPERM, covered by the suite
      await meta.link(a.ino, await parent(), pick(rng, NAMES));
      return;
    }
    case 'readdir': {
      const dir = await parent();
      const seen = new Set<string>();
      let after: Buffer | undefined;
      for (;;) {
        const page = await meta.readdir(dir, { after, limit: 5 });
        for (const e of page.entries) {
          const key = e.name.toString('hex');
          if (seen.has(key)) throw new Error(`readdir of ${dir} listed ${e.name.toString()} twice`);
          if (after !== undefined && Buffer.compare(e.name, after) <= 0) throw new Error(`readdir of ${dir} went backwards`);
          seen.add(key);
        }
        if (page.next === undefined) return;
        after = page.next;
      }
    }
  }
}

async function hammer(meta: MetaEngine, rng: Rng, until: number, fixedDirs: readonly number[], stats: Stats): Promise<void> {
  while (Date.now() < until) {
    const op = pickOp(rng);
    const t0 = performance.now();
    try {
      await withDeadline(op, () => randomOp(meta, rng, op, fixedDirs));
      stats.record(op, performance.now() - t0);
    } catch (err) {
      const ms = performance.now() - t0;
      if (err instanceof FsError && EXPECTED.has(err.code)) stats.record(op, ms, err.code);
      else {
        stats.record(op, ms, err instanceof FsError ? err.code : 'unknown');
        stats.fail(`${op}: ${inspect(err, { depth: 2 }).slice(0, 800)}`);
      }
    }
  }
}

interface Watch {
  renames: number;
  exchanges: number;
  listings: number;
  readonly violations: string[];
}

/** Renames A→B→A… in the watched directory until `until`. */
async function renameLoop(meta: MetaEngine, dir: number, until: number, watch: Watch, stats: Stats): Promise<void> {
  let from = Buffer.from('A');
  let to = Buffer.from('B');
  while (Date.now() < until) {
    try {
      await withDeadline('watched rename', () => meta.rename(dir, from, dir, to, 0, true));
      watch.renames++;
      [from, to] = [to, from];
    } catch (err) {
      stats.fail(`watched rename ${from.toString()}→${to.toString()}: ${inspect(err, { depth: 2 }).slice(0, 800)}`);
      return;
    }
  }
}

/** Swaps C (a file) and D (a directory) with RENAME_EXCHANGE until `until`. */
async function exchangeLoop(meta: MetaEngine, dir: number, until: number, watch: Watch, stats: Stats): Promise<void> {
  while (Date.now() < until) {
    try {
      await withDeadline('watched exchange', () => meta.rename(dir, Buffer.from('C'), dir, Buffer.from('D'), RENAME_EXCHANGE));
      watch.exchanges++;
    } catch (err) {
      stats.fail(`watched exchange: ${inspect(err, { depth: 2 }).slice(0, 800)}`);
      return;
    }
  }
}

/** Lists the watched directory (one readdir page = one statement) and checks what a snapshot must show. */
async function watchLoop(meta: MetaEngine, dir: number, fillers: readonly string[], until: number, watch: Watch, stats: Stats): Promise<void> {
  while (Date.now() < until) {
    let names: string[];
    let types: Map<string, string>;
    try {
      const page = await withDeadline('watched readdir', () => meta.readdir(dir, { limit: 100 }));
      names = page.entries.map((e) => e.name.toString());
      types = new Map(page.entries.map((e) => [e.name.toString(), e.type]));
      if (page.next !== undefined) throw new Error('the watched directory does not fit one page of 100');
    } catch (err) {
      stats.fail(`watched readdir: ${inspect(err, { depth: 2 }).slice(0, 800)}`);
      return;
    }
    watch.listings++;
    const problems: string[] = [];
    const ab = names.filter((n) => n === 'A' || n === 'B');
    if (ab.length !== 1) problems.push(`${ab.length} of A/B listed`);
    if (!names.includes('C') || !names.includes('D')) problems.push('C or D missing during an exchange');
    else if (types.get('C') === types.get('D')) problems.push('C and D have the same type during an exchange');
    const missing = fillers.filter((f) => !names.includes(f));
    if (missing.length > 0) problems.push(`fillers missing: ${missing.join(',')}`);
    if (names.length !== fillers.length + 3) problems.push(`${names.length} entries, expected ${fillers.length + 3}`);
    if (problems.length > 0 && watch.violations.length < 10) {
      watch.violations.push(`${problems.join('; ')} in listing [${names.join(', ')}]`);
    }
  }
}

function report(stats: Stats, watch: Watch, seconds: number): string {
  const lines = [`${seconds} s storm, ${ENGINES} engines × ${WORKERS_PER_ENGINE} workers`];
  let total = 0;
  for (const { op } of OPS) {
    const s = stats.byOp.get(op);
    if (s === undefined) continue;
    const n = s.ok + [...s.errnos.values()].reduce((a, c) => a + c, 0);
    total += n;
    const errs = [...s.errnos].map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`${op.padEnd(17)} ${(n / seconds).toFixed(1).padStart(8)} ops/s  ok ${s.ok}${errs ? `, ${errs}` : ''}, avg ${(s.ms / Math.max(n, 1)).toFixed(1)} ms`);
  }
  lines.push(`${'all random ops'.padEnd(17)} ${(total / seconds).toFixed(1).padStart(8)} ops/s`);
  lines.push(`watched: ${watch.renames} renames, ${watch.exchanges} exchanges, ${watch.listings} listings`);
  return lines.join('\n');
}

if (META_KINDS.includes('postgres')) {
  describe('MetaEngine under concurrent engines (postgres)', () => {
    it(`${ENGINES} engines hammer one directory for ${SECONDS} s: only expected errnos, atomic renames, invariants hold`,
      { timeout: (SECONDS + 300) * 1000 }, async (t) => {
        assert.ok(Number.isFinite(SECONDS) && SECONDS > 0, `OBJECTFS_STRESS_SECONDS=${process.env['OBJECTFS_STRESS_SECONDS']} is not a positive number`);
        const seed = testSeed();
        t.diagnostic(`seed ${seed} (replay with OBJECTFS_SEED=${seed})`);
        // The trash on: unlinks are one statement, and files replaced by renames move there too.
        const vol = await freshMeta('postgres', 'concurrency', { trashDays: 1 });
        t.after(() => vol.cleanup());
        const engines: MetaEngine[] = [vol.engine];
        for (let i = 1; i < ENGINES; i++) engines.push(await vol.open());
        const m = vol.engine;
        const hot = await m.mkdir(CALLER, ROOT_INO, Buffer.from('hot'), 0o755);
        const sub1 = await m.mkdir(CALLER, hot.ino, Buffer.from('sub1'), 0o755);
        const sub2 = await m.mkdir(CALLER, hot.ino, Buffer.from('sub2'), 0o755);
        const watched = await m.mkdir(CALLER, ROOT_INO, Buffer.from('watched'), 0o755);
        await m.mknod(CALLER, watched.ino, Buffer.from('A'), 'file', 0o644);
        await m.mknod(CALLER, watched.ino, Buffer.from('C'), 'file', 0o644);
        await m.mkdir(CALLER, watched.ino, Buffer.from('D'), 0o755);
        const fillers = Array.from({ length: 10 }, (_, i) => `f${i}`);
        for (const f of fillers) await m.mknod(CALLER, watched.ino, Buffer.from(f), 'file', 0o644);

        const stats = new Stats();
        const watch: Watch = { renames: 0, exchanges: 0, listings: 0, violations: [] };
        const fixedDirs = [hot.ino, hot.ino, sub1.ino, sub2.ino];
        const start = Date.now();
        const until = start + SECONDS * 1000;
        const rng = makeRng(seed);
        await Promise.all([
          ...engines.flatMap((e) => Array.from({ length: WORKERS_PER_ENGINE },
            () => hammer(e, makeRng(rng.int(0, 0xffff_ffff)), until, fixedDirs, stats))),
          renameLoop(engines[0]!, watched.ino, until, watch, stats),
          exchangeLoop(engines[2]!, watched.ino, until, watch, stats),
          watchLoop(engines[1]!, watched.ino, fillers, until, watch, stats),
          watchLoop(engines[3]!, watched.ino, fillers, until, watch, stats),
        ]);
        const elapsed = (Date.now() - start) / 1000;
        // Rates over the storm window; the last operations may finish a little after it.
        t.diagnostic(`all workers returned after ${elapsed.toFixed(1)} s`);
        t.diagnostic(report(stats, watch, SECONDS));

        const idle = await idleInTransaction(vol.url);
        for (const e of engines) await e.flushCounters();
        const invariants = await metaInvariantViolations(vol.url);
        // One comparison, so a failure shows every kind of problem at once.
        assert.deepEqual({
          'transactions left open after every operation returned': idle,
          [`operations that failed with an unexpected error (${stats.unexpectedCount} in all)`]: stats.unexpected,
          'readdir snapshots that did not show exactly one of A/B, both C and D and all fillers': watch.violations,
          'metadata invariants broken after the storm': invariants,
        }, {
          'transactions left open after every operation returned': [],
          [`operations that failed with an unexpected error (${stats.unexpectedCount} in all)`]: [],
          'readdir snapshots that did not show exactly one of A/B, both C and D and all fillers': [],
          'metadata invariants broken after the storm': [],
        });
        assert.ok(watch.renames > 10 && watch.listings > 10 && watch.exchanges > 10,
          `the watched renames (${watch.renames}), exchanges (${watch.exchanges}) and listings (${watch.listings}) really ran`);
        const done = [...stats.byOp.values()].reduce((a, s) => a + s.ok, 0);
        assert.ok(done > 100, `only ${done} random operations succeeded`);
        // The engines agree with the database: a fresh engine lists each hot directory consistently.
        const fresh = await vol.open();
        for (const dir of [hot.ino, sub1.ino, sub2.ino]) {
          const page = await fresh.readdir(dir, { limit: 1000 });
          for (const e of page.entries) {
            const a = await fresh.lookup(dir, e.name);
            assert.equal(a.ino, e.ino, `lookup agrees with readdir for ${e.name.toString()} in ${dir}`);
          }
        }
      });
  });
}
