/**
 * Conformance: readdir keyset pagination, order and entry attributes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetaEngine, NodeType } from '../../../src/meta/index.js';
import { makeRng } from '../../support/prng.js';
import { CALLER, b, readAll, rejectsWith, sortNames } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

/** `count` distinct random names of 1–40 bytes, any byte but '/' and NUL. */
function randomNames(count: number, seed: number): Buffer[] {
  const rng = makeRng(seed);
  const seen = new Set<string>();
  const out: Buffer[] = [];
  while (out.length < count) {
    const len = rng.int(1, 40);
    const bytes: number[] = [];
    for (let i = 0; i < len; i++) {
      let x = rng.int(1, 255);
      if (x === 0x2f) x = 0x2e;
      bytes.push(x);
    }
    const name = Buffer.from(bytes);
    const key = name.toString('hex');
    if (key === '2e' || key === '2e2e' || seen.has(key)) continue;
    seen.add(key);
    out.push(name);
  }
  return out;
}

interface Made {
  readonly ino: number;
  readonly type: NodeType;
}

/** Creates one node per name (cycling file, directory, symlink), `parallel` at a time. */
async function populate(meta: MetaEngine, dir: number, names: readonly Buffer[], parallel: number): Promise<Map<string, Made>> {
  const made = new Map<string, Made>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < names.length) {
      const i = next++;
      const name = names[i]!;
      const attr = i % 3 === 0
        ? await meta.mkdir(CALLER, dir, name, 0o755)
        : i % 3 === 1
          ? await meta.mknod(CALLER, dir, name, 'file', 0o644)
          : await meta.symlink(CALLER, dir, name, Buffer.from(`target-${i}`));
      made.set(name.toString('hex'), { ino: attr.ino, type: attr.type });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return made;
}

export function readdirTests(ctx: SuiteContext): void {
  describe('readdir', () => {
    it('pages through 1,050 entries with small limits: every name once, ascending bytes, right attrs', async () => {
      const d = await ctx.dir('readdir-big');
      const names = randomNames(1050, 0x5eed);
      const made = await populate(ctx.meta, d.ino, names, 8);
      assert.equal(made.size, names.length);
      const expected = sortNames(names).map((n) => n.toString('hex'));
      for (const limit of [7, 64, 1000]) {
        const { entries, pages } = await readAll(ctx.meta, d.ino, limit);
        const got = entries.map((e) => e.name.toString('hex'));
        assert.equal(new Set(got).size, got.length, `limit ${limit}: no name listed twice`);
        assert.deepEqual(got, expected, `limit ${limit}: every name exactly once, in ascending byte order`);
        assert.ok(pages >= Math.ceil(names.length / limit), `limit ${limit}: ${pages} pages`);
        for (const e of entries) {
          const m = made.get(e.name.toString('hex'))!;
          assert.equal(e.ino, m.ino, 'entry inode');
          assert.equal(e.type, m.type, 'entry type');
          assert.equal(e.attr.ino, m.ino, 'attr inode');
          assert.equal(e.attr.type, m.type, 'attr type');
          assert.equal(e.attr.nlink, m.type === 'directory' ? 2 : 1, 'attr nlink');
          assert.equal(e.attr.uid, CALLER.uid);
          assert.equal(e.attr.mode, m.type === 'directory' ? 0o755 : m.type === 'file' ? 0o644 : 0o777);
        }
      }
      // A sample of entries carries exactly what getattr says.
      const { entries } = await readAll(ctx.meta, d.ino, 500);
      for (const e of entries.filter((_, i) => i % 97 === 0)) {
        assert.deepEqual(e.attr, await ctx.meta.getattr(e.ino), `attr of ${e.name.toString('hex')}`);
      }
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, 2 + 350, 'one in three entries is a directory');
    });

    it('carries every attribute exactly as getattr, at the edges of each field', async () => {
      const d = await ctx.dir('readdir-edges');
      const big = await ctx.meta.mknod(CALLER, d.ino, b('big'), 'file', 0o4755);
      // Past 2^32 where fields are int8 (length up to the 1 PiB maximum); times before 1970 and with nanoseconds.
      await ctx.meta.setattr(big.ino, { length: 2 ** 50 - 3, uid: 2 ** 32 + 7, gid: 4_294_967_294, atime: -1_234_567_890_123_456_789n, mtime: 9_000_000_000_123_456_789n, ctime: 1n });
      const dev = await ctx.meta.mknod(CALLER, d.ino, b('dev'), 'chardev', 0o600, 0x7fff_ffff);
      const sock = await ctx.meta.mknod(CALLER, d.ino, b('sock'), 'socket', 0o640);
      await ctx.meta.link(big.ino, d.ino, b('big2'));
      await ctx.meta.symlink(CALLER, d.ino, b('link'), b('big'));
      await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o1777);
      const { entries } = await readAll(ctx.meta, d.ino, 100);
      assert.deepEqual(entries.map((e) => e.name.toString()), ['big', 'big2', 'dev', 'link', 'sock', 'sub']);
      for (const e of entries) assert.deepEqual(e.attr, await ctx.meta.getattr(e.ino), `attr of ${e.name.toString()}`);
      const bigAttr = entries[0]!.attr;
      assert.equal(bigAttr.length, 2 ** 50 - 3);
      assert.equal(bigAttr.atime, -1_234_567_890_123_456_789n);
      assert.equal(bigAttr.nlink, 2);
      assert.equal(entries[2]!.attr.rdev, 0x7fff_ffff);
      assert.equal(entries[2]!.ino, dev.ino);
      assert.equal(entries[4]!.attr.type, sock.type);
    });

    it('with limit 1, `after` is exclusive and works with names that are not in the directory', async () => {
      const d = await ctx.dir('readdir-after');
      const names = ['a', 'b', 'ba', 'c', 'd'].map(b);
      for (const n of names) await ctx.meta.mknod(CALLER, d.ino, n, 'file', 0o644);
      const p1 = await ctx.meta.readdir(d.ino, { limit: 1 });
      assert.deepEqual(p1.entries.map((e) => e.name.toString()), ['a']);
      assert.ok(p1.next !== undefined, 'more to come');
      const p2 = await ctx.meta.readdir(d.ino, { after: p1.next, limit: 2 });
      assert.deepEqual(p2.entries.map((e) => e.name.toString()), ['b', 'ba']);
      const p3 = await ctx.meta.readdir(d.ino, { after: b('bb'), limit: 10 });
      assert.deepEqual(p3.entries.map((e) => e.name.toString()), ['c', 'd'], 'after a name that is not there');
      assert.equal(p3.next, undefined, 'the last page has no cursor');
      const p4 = await ctx.meta.readdir(d.ino, { after: b('d') });
      assert.deepEqual(p4.entries, []);
      assert.equal(p4.next, undefined);
      const all = await ctx.meta.readdir(d.ino);
      assert.deepEqual(all.entries.map((e) => e.name.toString()), ['a', 'b', 'ba', 'c', 'd'], 'no . or .. listed');
    });

    it('sorts by unsigned bytes, not by any text collation', async () => {
      const d = await ctx.dir('readdir-order');
      const names = [b('a'), b('B'), b('_'), b('é'), Buffer.from([0xff]), b('Z'), b('a0'), b('aa'), b('~'), Buffer.from([0x7f]), b(' ')];
      for (const n of names) await ctx.meta.mknod(CALLER, d.ino, n, 'file', 0o644);
      const got = (await readAll(ctx.meta, d.ino, 3)).names.map((n) => n.toString('hex'));
      assert.deepEqual(got, ['20', '42', '5a', '5f', '61', '6130', '6161', '7e', '7f', 'c3a9', 'ff']);
    });

    it('lists an empty directory as no entries and no cursor', async () => {
      const d = await ctx.dir('readdir-empty');
      const page = await ctx.meta.readdir(d.ino, { limit: 5 });
      assert.deepEqual(page.entries, []);
      assert.equal(page.next, undefined);
    });

    it('refuses a file (ENOTDIR) and a missing inode (ENOENT)', async () => {
      const d = await ctx.dir('readdir-err');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await rejectsWith(() => ctx.meta.readdir(f.ino), 'ENOTDIR', 'readdir of a file');
      await rejectsWith(() => ctx.meta.readdir(987_654_321), 'ENOENT', 'readdir of a missing inode');
    });
  });
}
