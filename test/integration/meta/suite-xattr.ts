/**
 * Conformance: extended attributes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_XATTR_NAME_BYTES, MAX_XATTR_VALUE_BYTES, XATTR_CREATE, XATTR_REPLACE,
} from '../../../src/meta/index.js';
import { CALLER, b, rejectsWith, sortNames, tick } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

function hexes(names: readonly Buffer[]): string[] {
  return sortNames(names).map((n) => n.toString('hex'));
}

export function xattrTests(ctx: SuiteContext): void {
  describe('xattr', () => {
    it('sets, gets, lists and removes attributes; missing ones are ENODATA', async () => {
      const d = await ctx.dir('xattr');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      assert.deepEqual(await ctx.meta.listxattr(f.ino), [], 'a new inode has no xattrs');
      await rejectsWith(() => ctx.meta.getxattr(f.ino, b('user.missing')), 'ENODATA', 'get of a missing xattr');
      await tick();
      await ctx.meta.setxattr(f.ino, b('user.a'), b('one'));
      assert.ok((await ctx.meta.getattr(f.ino)).ctime > f.ctime, 'ext4: setxattr changes ctime');
      await ctx.meta.setxattr(f.ino, b('user.b'), b('two'));
      await ctx.meta.setxattr(f.ino, b('trusted.c'), b('three'));
      assert.deepEqual(await ctx.meta.getxattr(f.ino, b('user.a')), b('one'));
      assert.deepEqual(await ctx.meta.getxattr(f.ino, b('trusted.c')), b('three'));
      assert.deepEqual(hexes(await ctx.meta.listxattr(f.ino)), hexes([b('user.a'), b('user.b'), b('trusted.c')]));
      await ctx.meta.setxattr(f.ino, b('user.a'), b('uno'));
      assert.deepEqual(await ctx.meta.getxattr(f.ino, b('user.a')), b('uno'), 'flags 0 replaces');
      await ctx.meta.removexattr(f.ino, b('user.b'));
      await rejectsWith(() => ctx.meta.getxattr(f.ino, b('user.b')), 'ENODATA', 'get after remove');
      await rejectsWith(() => ctx.meta.removexattr(f.ino, b('user.b')), 'ENODATA', 'remove twice');
      assert.deepEqual(hexes(await ctx.meta.listxattr(f.ino)), hexes([b('user.a'), b('trusted.c')]));
      // Another inode's attributes are separate.
      const g = await ctx.meta.mkdir(CALLER, d.ino, b('g'), 0o755);
      await rejectsWith(() => ctx.meta.getxattr(g.ino, b('user.a')), 'ENODATA', "another inode's xattr");
      await ctx.meta.setxattr(g.ino, b('user.a'), b('dir value'));
      assert.deepEqual(await ctx.meta.getxattr(g.ino, b('user.a')), b('dir value'));
      assert.deepEqual(await ctx.meta.getxattr(f.ino, b('user.a')), b('uno'));
    });

    it('XATTR_CREATE refuses an existing name (EEXIST), XATTR_REPLACE a missing one (ENODATA)', async () => {
      const d = await ctx.dir('xattr-flags');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await ctx.meta.setxattr(f.ino, b('user.k'), b('v1'), XATTR_CREATE);
      await rejectsWith(() => ctx.meta.setxattr(f.ino, b('user.k'), b('v2'), XATTR_CREATE), 'EEXIST', 'XATTR_CREATE of an existing name');
      assert.deepEqual(await ctx.meta.getxattr(f.ino, b('user.k')), b('v1'), 'the refused create changed nothing');
      await rejectsWith(() => ctx.meta.setxattr(f.ino, b('user.none'), b('v'), XATTR_REPLACE), 'ENODATA', 'XATTR_REPLACE of a missing name');
      await rejectsWith(() => ctx.meta.getxattr(f.ino, b('user.none')), 'ENODATA', 'the refused replace created nothing');
      await ctx.meta.setxattr(f.ino, b('user.k'), b('v3'), XATTR_REPLACE);
      assert.deepEqual(await ctx.meta.getxattr(f.ino, b('user.k')), b('v3'));
    });

    it('keeps binary, empty and maximum-size values and binary names exactly', async () => {
      const d = await ctx.dir('xattr-binary');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      const binary = Buffer.from([0x00, 0xff, 0x00, 0x80, 0x0a, 0x2f, 0x00]);
      await ctx.meta.setxattr(f.ino, b('user.bin'), binary);
      assert.deepEqual(await ctx.meta.getxattr(f.ino, b('user.bin')), binary);
      await ctx.meta.setxattr(f.ino, b('user.empty'), Buffer.alloc(0));
      const empty = await ctx.meta.getxattr(f.ino, b('user.empty'));
      assert.equal(empty.length, 0, 'an empty value exists and is empty');
      assert.ok(hexes(await ctx.meta.listxattr(f.ino)).includes(b('user.empty').toString('hex')), 'an empty value is listed');
      const big = Buffer.alloc(MAX_XATTR_VALUE_BYTES, 0xab);
      big[0] = 0;
      await ctx.meta.setxattr(f.ino, b('user.big'), big);
      assert.deepEqual(await ctx.meta.getxattr(f.ino, b('user.big')), big);
      const oddName = Buffer.concat([b('user.'), Buffer.from([0xff, 0xfe, 0x20])]);
      await ctx.meta.setxattr(f.ino, oddName, b('x'));
      assert.deepEqual(await ctx.meta.getxattr(f.ino, oddName), b('x'));
      assert.deepEqual(hexes(await ctx.meta.listxattr(f.ino)),
        hexes([b('user.bin'), b('user.empty'), b('user.big'), oddName]));
    });

    it('refuses oversized names (ERANGE) and values (E2BIG) as Linux does, and missing inodes (ENOENT)', async () => {
      const d = await ctx.dir('xattr-limits');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      const longest = Buffer.concat([b('user.'), Buffer.alloc(MAX_XATTR_NAME_BYTES - 5, 'n')]);
      await ctx.meta.setxattr(f.ino, longest, b('ok'));
      assert.deepEqual(await ctx.meta.getxattr(f.ino, longest), b('ok'));
      const tooLong = Buffer.concat([longest, b('n')]);
      await rejectsWith(() => ctx.meta.setxattr(f.ino, tooLong, b('v')), 'ERANGE', 'xattr name over 255 bytes');
      await rejectsWith(() => ctx.meta.setxattr(f.ino, b('user.huge'), Buffer.alloc(MAX_XATTR_VALUE_BYTES + 1)), 'E2BIG', 'xattr value over 64 KiB');
      await rejectsWith(() => ctx.meta.getxattr(f.ino, b('user.huge')), 'ENODATA', 'the refused value was not stored');
      await rejectsWith(() => ctx.meta.setxattr(987_654_321, b('user.a'), b('v')), 'ENOENT', 'setxattr of a missing inode');
      await rejectsWith(() => ctx.meta.listxattr(987_654_321), 'ENOENT', 'listxattr of a missing inode');
    });
  });
}
