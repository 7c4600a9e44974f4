/**
 * Conformance: names are bytes. Length limits, forbidden bytes and exact round trips of
 * names that are not valid UTF-8, through every operation that takes a name.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_NAME_BYTES } from '../../../src/meta/index.js';
import { CALLER, b, readAll, rejectsWith, sortNames } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

/** Names that a lossy text conversion would mangle or merge. */
const ODD_NAMES: readonly Buffer[] = [
  b('with space'),
  b(' leading and trailing '),
  b('new\nline'),
  b('tab\there'),
  b('carriage\rreturn'),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xff]),
  Buffer.from([0xfe]),
  Buffer.from([0xe9, 0x74, 0xe9]), // "été" in latin-1: invalid UTF-8
  Buffer.from([0xc3, 0xa9, 0x74, 0xc3, 0xa9]), // "été" in UTF-8: a different name
  Buffer.from([0xc0, 0x80]), // overlong NUL encoding
  Buffer.from([0x01, 0x7f]),
  b('日本語のファイル名'),
  b('emoji 😀'),
  b('back\\slash'),
  b('...'),
  b('.hidden'),
  b('%00'),
  b("quote' \"double\" `tick`"),
];

export function nameTests(ctx: SuiteContext): void {
  describe('names as bytes', () => {
    it(`accepts a ${MAX_NAME_BYTES}-byte name and refuses ${MAX_NAME_BYTES + 1} bytes with ENAMETOOLONG in every op`, async () => {
      const d = await ctx.dir('name-len');
      const longest = Buffer.alloc(MAX_NAME_BYTES, 'a');
      const tooLong = Buffer.alloc(MAX_NAME_BYTES + 1, 'a');
      const f = await ctx.meta.mknod(CALLER, d.ino, longest, 'file', 0o644);
      assert.equal((await ctx.meta.lookup(d.ino, longest)).ino, f.ino);
      assert.deepEqual((await readAll(ctx.meta, d.ino)).names, [longest]);
      // 127 two-byte characters + 1 byte = 255 bytes but only 128 characters: the limit is bytes.
      const multi = Buffer.concat([Buffer.from('é'.repeat(127)), b('x')]);
      assert.equal(multi.length, 255);
      await ctx.meta.mkdir(CALLER, d.ino, multi, 0o755);
      const multiOver = Buffer.concat([Buffer.from('é'.repeat(128))]);
      assert.equal(multiOver.length, 256);

      await rejectsWith(() => ctx.meta.mknod(CALLER, d.ino, tooLong, 'file', 0o644), 'ENAMETOOLONG', 'mknod');
      await rejectsWith(() => ctx.meta.mkdir(CALLER, d.ino, multiOver, 0o755), 'ENAMETOOLONG', 'mkdir (256 bytes, 128 chars)');
      await rejectsWith(() => ctx.meta.symlink(CALLER, d.ino, tooLong, b('t')), 'ENAMETOOLONG', 'symlink');
      await rejectsWith(() => ctx.meta.link(f.ino, d.ino, tooLong), 'ENAMETOOLONG', 'link');
      await rejectsWith(() => ctx.meta.rename(d.ino, longest, d.ino, tooLong), 'ENAMETOOLONG', 'rename destination');
      await rejectsWith(() => ctx.meta.lookup(d.ino, tooLong), 'ENAMETOOLONG', 'lookup');
      await rejectsWith(() => ctx.meta.unlink(d.ino, tooLong), 'ENAMETOOLONG', 'unlink');
      await rejectsWith(() => ctx.meta.rmdir(d.ino, tooLong), 'ENAMETOOLONG', 'rmdir');
      assert.equal((await readAll(ctx.meta, d.ino)).names.length, 2, 'nothing was created by the refused ops');
    });

    it("refuses '/' and NUL inside a name with EINVAL", async () => {
      const d = await ctx.dir('name-bad');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      for (const bad of [b('a/b'), b('/'), Buffer.from([0x61, 0x00, 0x62]), Buffer.from([0x00])]) {
        const what = JSON.stringify(bad.toString('latin1'));
        await rejectsWith(() => ctx.meta.mknod(CALLER, d.ino, bad, 'file', 0o644), 'EINVAL', `mknod ${what}`);
        await rejectsWith(() => ctx.meta.mkdir(CALLER, d.ino, bad, 0o755), 'EINVAL', `mkdir ${what}`);
        await rejectsWith(() => ctx.meta.symlink(CALLER, d.ino, bad, b('t')), 'EINVAL', `symlink ${what}`);
        await rejectsWith(() => ctx.meta.link(f.ino, d.ino, bad), 'EINVAL', `link ${what}`);
        await rejectsWith(() => ctx.meta.rename(d.ino, b('f'), d.ino, bad), 'EINVAL', `rename to ${what}`);
      }
      assert.deepEqual((await readAll(ctx.meta, d.ino)).names, [b('f')], 'only the good name exists');
    });

    it('round-trips names with spaces, control characters and non-UTF-8 bytes through create, readdir, lookup, rename, unlink', async () => {
      const d = await ctx.dir('name-odd');
      const inoByHex = new Map<string, number>();
      for (const [i, name] of ODD_NAMES.entries()) {
        const a = i % 2 === 0
          ? await ctx.meta.mknod(CALLER, d.ino, name, 'file', 0o644)
          : await ctx.meta.mkdir(CALLER, d.ino, name, 0o755);
        inoByHex.set(name.toString('hex'), a.ino);
      }
      assert.equal(new Set(inoByHex.values()).size, ODD_NAMES.length, 'every name is its own entry');
      const listed = await readAll(ctx.meta, d.ino);
      assert.deepEqual(listed.names.map((n) => n.toString('hex')), sortNames(ODD_NAMES).map((n) => n.toString('hex')),
        'readdir returns exactly the bytes given, in ascending byte order');
      for (const e of listed.entries) {
        assert.equal(e.ino, inoByHex.get(e.name.toString('hex')), `entry ${e.name.toString('hex')} has its inode`);
      }
      for (const name of ODD_NAMES) {
        assert.equal((await ctx.meta.lookup(d.ino, name)).ino, inoByHex.get(name.toString('hex')), `lookup ${name.toString('hex')}`);
      }
      // Rename between two names that a lossy decoder would turn into the same string.
      const from = Buffer.from([0xff]);
      const to = Buffer.from([0xfd]);
      await ctx.meta.rename(d.ino, from, d.ino, to);
      assert.equal((await ctx.meta.lookup(d.ino, to)).ino, inoByHex.get('ff'));
      await rejectsWith(() => ctx.meta.lookup(d.ino, from), 'ENOENT', 'the old non-UTF-8 name is gone');
      assert.equal((await ctx.meta.lookup(d.ino, Buffer.from([0xfe]))).ino, inoByHex.get('fe'), 'a neighbour is untouched');
      await ctx.meta.rmdir(d.ino, Buffer.from([0xff, 0xfe]));
      await rejectsWith(() => ctx.meta.lookup(d.ino, Buffer.from([0xff, 0xfe])), 'ENOENT', 'removed non-UTF-8 name');
      await ctx.meta.unlink(d.ino, b('日本語のファイル名'));
      await ctx.meta.rmdir(d.ino, Buffer.from([0xc3, 0xa9, 0x74, 0xc3, 0xa9]));
      assert.equal((await ctx.meta.lookup(d.ino, Buffer.from([0xe9, 0x74, 0xe9]))).ino, inoByHex.get('e974e9'),
        'removing the UTF-8 spelling left the latin-1 spelling');
      assert.equal((await readAll(ctx.meta, d.ino)).names.length, ODD_NAMES.length - 3);
    });
  });
}
