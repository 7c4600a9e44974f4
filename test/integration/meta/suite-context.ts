/**
 * Shared state and helpers of the metadata conformance suite (meta-suite.ts): one volume per
 * suite run, a fresh subdirectory per test, errno assertions and clock helpers.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { FsError } from '../../../src/errors.js';
import type { ErrnoCode } from '../../../src/errors.js';
import { ROOT_INO } from '../../../src/meta/index.js';
import type { Attr, Caller, DirEntry, FormatSettings, MetaEngine, UnlinkResult } from '../../../src/meta/index.js';
import { freshMeta } from '../../support/meta.js';
import type { FreshMeta, MetaKind } from '../../support/meta.js';

/** The caller of every create in the suite (a non-root user, so ownership is visible). */
export const CALLER: Caller = Object.freeze({ uid: 1000, gid: 1001 });

/** Buffer of a string's UTF-8 bytes: names are bytes at this layer. */
export function b(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** Wall clock in ns since the epoch (the engine records times in ns). */
export function nowNs(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/**
 * Waits long enough that a later timestamp is strictly greater than an earlier one, even for
 * an engine whose clock only has millisecond resolution.
 */
export function tick(): Promise<void> {
  return sleep(3);
}

/** Slack allowed between the test's clock and the time an engine records (same machine). */
const CLOCK_SLACK_NS = 2_000_000_000n;

/** Asserts that `t` (ns) lies within [from, to] give or take the clock slack. */
export function assertTimeBetween(t: bigint, from: bigint, to: bigint, what: string): void {
  assert.equal(typeof t, 'bigint', `${what} is a bigint of ns`);
  assert.ok(t >= from - CLOCK_SLACK_NS && t <= to + CLOCK_SLACK_NS,
    `${what} = ${t} ns is not within [${from}, ${to}] (a time in ns since the epoch)`);
}

/**
 * Calls `op` and asserts that the promise it returns rejects with an FsError whose code is
 * `code`. An op that throws synchronously instead breaks the Promise contract (a caller's
 * `.catch` never sees it) and fails too.
 */
export async function rejectsWith(op: () => Promise<unknown>, code: ErrnoCode, what: string): Promise<void> {
  let p: Promise<unknown>;
  try {
    p = op();
  } catch (err) {
    assert.fail(`${what}: threw synchronously (${inspect(err)}) instead of returning a promise that rejects with ${code}`);
  }
  let result: unknown;
  try {
    result = await p;
  } catch (err) {
    assert.ok(err instanceof FsError, `${what}: expected FsError ${code}, got ${inspect(err)}`);
    assert.equal(err.code, code, `${what}: expected ${code}, got ${err.code} (${err.message})`);
    return;
  }
  assert.fail(`${what}: expected ${code}, but it succeeded with ${inspect(result, { depth: 1 })}`);
}

/** Asserts that the directory's mtime and ctime advanced past `before`. */
export async function assertDirTouched(meta: MetaEngine, before: Attr, what: string): Promise<Attr> {
  const after = await meta.getattr(before.ino);
  assert.ok(after.mtime > before.mtime, `${what}: parent mtime ${after.mtime} did not advance past ${before.mtime}`);
  assert.ok(after.ctime > before.ctime, `${what}: parent ctime ${after.ctime} did not advance past ${before.ctime}`);
  return after;
}

/** Sorted copy of names, ascending in byte order (the readdir order). */
/**
 * unlink, checking that it returns its directory as it left it (what getattr of the directory
 * says now: nothing else changed it meanwhile), and its result without that.
 */
export async function unlinkChecked(meta: MetaEngine, parent: number, name: Buffer): Promise<Omit<UnlinkResult, 'dirs'>> {
  const { dirs, ...result } = await meta.unlink(parent, name);
  assert.deepEqual(dirs, [await meta.getattr(parent)], 'unlink returns its directory as it left it');
  return result;
}

export function sortNames(names: readonly Buffer[]): Buffer[] {
  return [...names].sort(Buffer.compare);
}

/** Every entry of a directory, following `next` through pages of at most `limit`. */
export async function readAll(meta: MetaEngine, dir: number, limit?: number): Promise<{ entries: DirEntry[]; names: Buffer[]; pages: number }> {
  const entries: DirEntry[] = [];
  let after: Buffer | undefined;
  let pages = 0;
  for (;;) {
    assert.ok(pages < 1_000_000, 'readdir never ends');
    const page = await meta.readdir(dir, limit === undefined ? { after } : { after, limit });
    pages += 1;
    if (limit !== undefined) assert.ok(page.entries.length <= limit, `page of ${page.entries.length} > limit ${limit}`);
    entries.push(...page.entries);
    if (page.next === undefined) break;
    assert.ok(page.entries.length > 0, 'a page with a `next` cursor but no entries');
    after = page.next;
  }
  return { entries, names: entries.map((e) => e.name), pages };
}

/** Names of a directory (all pages), as strings, in listing order. */
export async function listNames(meta: MetaEngine, dir: number): Promise<string[]> {
  return (await readAll(meta, dir)).names.map((n) => n.toString('utf8'));
}

/** State of one conformance suite run: a volume formatted in `before`, dropped in `after`. */
export class SuiteContext {
  readonly kind: MetaKind;
  /**
   * Whether several engines may share one database at once. PostgreSQL: yes (many hosts).
   * PGlite: no, by design one process and one engine per data directory (a lock file).
   */
  readonly multiEngine: boolean;
  #vol: FreshMeta | undefined;
  #seq = 0;

  constructor(kind: MetaKind) {
    this.kind = kind;
    this.multiEngine = kind === 'postgres';
  }

  async setUp(): Promise<void> {
    this.#vol = await freshMeta(this.kind, `suite-${this.kind}`);
  }

  async tearDown(): Promise<void> {
    const vol = this.#vol;
    this.#vol = undefined;
    await vol?.cleanup();
  }

  /** The suite's shared volume. */
  get vol(): FreshMeta {
    if (this.#vol === undefined) throw new Error('the suite volume is not set up (before hook failed?)');
    return this.#vol;
  }

  /** The suite's first engine. */
  get meta(): MetaEngine {
    return this.vol.engine;
  }

  /** A new, empty directory under the root for one test. */
  async dir(label: string): Promise<Attr> {
    this.#seq += 1;
    return this.meta.mkdir(CALLER, ROOT_INO, b(`${label}-${this.#seq}`), 0o755);
  }

  /** A volume of its own for one test (for assertions on volume-wide state), dropped after it. */
  async ownVolume(t: { after(fn: () => Promise<void>): void }, label: string, settings: Partial<FormatSettings> = {}): Promise<FreshMeta> {
    const vol = await freshMeta(this.kind, `${label}-${this.kind}`, settings);
    t.after(() => vol.cleanup());
    return vol;
  }
}
