/**
 * A program that uses ObjectFS as a library (openVolume) meets the POSIX rules a process meets
 * through the mount: permission bits, owner-only changes, sticky directories, setgid
 * inheritance, setuid/setgid clearing, and EROFS on a read-only volume. On both metadata
 * engines, through the library entry point (src/index.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { FsError, ROOT_INO, type Caller, type Volume } from '../../../src/index.js';
import { freshDataVolume, KiB, ROOT_CALLER, type DataVolume, type MetaBackend } from '../../support/data-volume.js';

const ALICE: Caller = { uid: 1000, gid: 1000 };
const BOB: Caller = { uid: 1001, gid: 1001 };
const b = (s: string) => Buffer.from(s);

async function rejectsWith(op: () => Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(op, (err: unknown) => {
    assert.ok(err instanceof FsError, `${what}: ${String(err)}`);
    assert.equal(err.code, code, `${what}: ${err.message}`);
    return true;
  }, `${what} must fail with ${code}`);
}

for (const meta of ['pglite', 'postgres'] as const satisfies readonly MetaBackend[]) {
  describe(`library permissions (${meta})`, () => {
    let dv: DataVolume;
    let vol: Volume;
    /** A directory where everybody may create (0777), owned by root. */
    let shared = 0;

    before(async () => {
      dv = await freshDataVolume(`library-permissions-${meta}`, { meta, data: 'file', blockSize: 64 * KiB });
      vol = await dv.open();
      shared = (await vol.vfs.mkdir(ROOT_CALLER, ROOT_INO, b('shared'), 0o777)).ino;
    });
    after(async () => { await dv?.cleanup(); });

    /** A file of `owner` in the shared directory, with `mode`. */
    async function fileOf(owner: Caller, name: string, mode: number): Promise<number> {
      const { fh, attr } = await vol.vfs.create(owner, shared, b(name), mode, constants.O_WRONLY);
      await vol.vfs.write(fh, 0, b('data'));
      await vol.vfs.release(fh);
      return attr.ino;
    }

    test('chmod by a non-owner is EPERM; by the owner and by root it works', async () => {
      const ino = await fileOf(ALICE, 'chmod-me', 0o644);
      await rejectsWith(() => vol.vfs.setattr(BOB, ino, { mode: 0o666 }), 'EPERM', 'chmod by another user');
      assert.equal((await vol.vfs.getattr(ino)).mode, 0o644, 'the mode is unchanged');
      assert.equal((await vol.vfs.setattr(ALICE, ino, { mode: 0o600 })).mode, 0o600);
      assert.equal((await vol.vfs.setattr(ROOT_CALLER, ino, { mode: 0o640 })).mode, 0o640);
      await rejectsWith(() => vol.vfs.setattr(ALICE, ino, { uid: BOB.uid }), 'EPERM', 'chown to another user by the owner');
      await rejectsWith(() => vol.vfs.setattr(ALICE, ino, { gid: 4242 }), 'EPERM', 'chgrp to a group the owner is not in');
      assert.equal((await vol.vfs.setattr({ ...ALICE, groups: [4242] }, ino, { gid: 4242 })).gid, 4242, 'chgrp to a supplementary group');
      await rejectsWith(() => vol.vfs.setattr(BOB, ino, { mtime: 1n }), 'EPERM', 'setting times of a file one does not own');
    });

    test('POSIX ACLs are not supported: setting, reading and removing one is EOPNOTSUPP, for anyone', async () => {
      const ino = await fileOf(ALICE, 'acl', 0o644);
      const acl = b('system.posix_acl_access');
      for (const caller of [ALICE, BOB, ROOT_CALLER]) {
        await rejectsWith(() => vol.vfs.getxattr(caller, ino, acl), 'EOPNOTSUPP', 'reading an ACL');
      }
      await rejectsWith(() => vol.vfs.setxattr(ALICE, ino, acl, b('\x02\0\0\0')), 'EOPNOTSUPP', 'setting an ACL');
      await rejectsWith(() => vol.vfs.removexattr(ALICE, ino, b('system.posix_acl_default')), 'EOPNOTSUPP', 'removing a default ACL');
    });

    test('opening a 0600 file of another user is EACCES, for reading and for writing', async () => {
      const ino = await fileOf(ALICE, 'private', 0o600);
      await rejectsWith(() => vol.vfs.open(BOB, ino, constants.O_RDONLY), 'EACCES', 'read open by another user');
      await rejectsWith(() => vol.vfs.open(BOB, ino, constants.O_WRONLY), 'EACCES', 'write open by another user');
      await rejectsWith(() => vol.vfs.setattr(BOB, ino, { length: 0 }), 'EACCES', 'truncate by another user');
      for (const who of [ALICE, ROOT_CALLER]) {
        const fh = await vol.vfs.open(who, ino, constants.O_RDONLY);
        assert.equal((await vol.vfs.read(fh, 0, 100)).toString(), 'data');
        await vol.vfs.release(fh);
      }
      const readable = await fileOf(ALICE, 'group-readable', 0o640);
      await vol.vfs.setattr(ROOT_CALLER, readable, { gid: 4242 });
      await rejectsWith(() => vol.vfs.open(BOB, readable, constants.O_RDONLY), 'EACCES', 'read open outside the group');
      await vol.vfs.release(await vol.vfs.open({ ...BOB, groups: [4242] }, readable, constants.O_RDONLY));
    });

    test('a directory without write or search permission refuses creates and lookups', async () => {
      const dir = (await vol.vfs.mkdir(ALICE, shared, b('closed'), 0o755)).ino;
      await rejectsWith(() => vol.vfs.create(BOB, dir, b('x'), 0o644, constants.O_WRONLY), 'EACCES', 'create without write permission');
      await rejectsWith(() => vol.vfs.mkdir(BOB, dir, b('x'), 0o755), 'EACCES', 'mkdir without write permission');
      await vol.vfs.setattr(ALICE, dir, { mode: 0o700 });
      await rejectsWith(() => vol.vfs.lookup(BOB, dir, b('x')), 'EACCES', 'lookup without search permission');
      await rejectsWith(async () => { for await (const _ of vol.vfs.readdir(BOB, dir)) break; }, 'EACCES', 'listing without read permission');
    });

    test('in a sticky directory only the owner of a file (or of the directory, or root) removes or renames it', async () => {
      const tmp = (await vol.vfs.mkdir(ROOT_CALLER, ROOT_INO, b('tmp'), 0o1777)).ino;
      await vol.vfs.release((await vol.vfs.create(ALICE, tmp, b('alices'), 0o666, constants.O_WRONLY)).fh);
      await rejectsWith(() => vol.vfs.unlink(BOB, tmp, b('alices')), 'EPERM', 'unlink of another user\'s file');
      await rejectsWith(() => vol.vfs.rename(BOB, tmp, b('alices'), tmp, b('bobs')), 'EPERM', 'rename of another user\'s file');
      await vol.vfs.release((await vol.vfs.create(BOB, tmp, b('bobs'), 0o666, constants.O_WRONLY)).fh);
      await rejectsWith(() => vol.vfs.rename(BOB, tmp, b('bobs'), tmp, b('alices')), 'EPERM', 'rename over another user\'s file');
      await vol.vfs.unlink(ALICE, tmp, b('alices'));
      await vol.vfs.unlink(ROOT_CALLER, tmp, b('bobs'));
    });

    test('a setgid directory hands down its group; a non-member\'s setgid bit is dropped', async () => {
      const dir = (await vol.vfs.mkdir(ROOT_CALLER, ROOT_INO, b('project'), 0o777)).ino;
      await vol.vfs.setattr(ROOT_CALLER, dir, { gid: 4242, mode: 0o2777 });
      const sub = await vol.vfs.mkdir(ALICE, dir, b('sub'), 0o755);
      assert.equal(sub.gid, 4242, 'a new directory takes the group');
      assert.equal(sub.mode & 0o2000, 0o2000, 'and the setgid bit');
      const file = await vol.vfs.mknod(ALICE, dir, b('tool'), 'file', 0o2755);
      assert.equal(file.gid, 4242, 'a new file takes the group');
      assert.equal(file.mode, 0o755, 'its setgid bit is dropped: its creator is not in the group');
      const member = await vol.vfs.mknod({ ...ALICE, groups: [4242] }, dir, b('tool2'), 'file', 0o2755);
      assert.equal(member.mode, 0o2755, 'a member keeps it');
      const own = await fileOf(ALICE, 'chmod-sgid', 0o644);
      assert.equal((await vol.vfs.setattr(ALICE, own, { mode: 0o2755 })).mode, 0o2755, 'the owner\'s own group: kept');
      await vol.vfs.setattr(ROOT_CALLER, own, { gid: 4242, mode: 0o644 });
      assert.equal((await vol.vfs.setattr(ALICE, own, { mode: 0o2755 })).mode, 0o755, 'chmod g+s of a file of another group drops it');
    });

    test('a write by its owner clears setuid and setgid; so does a chown', async () => {
      const ino = await fileOf(ALICE, 'suid', 0o755);
      await vol.vfs.setattr(ALICE, ino, { mode: 0o6755 });
      const fh = await vol.vfs.open(ALICE, ino, constants.O_WRONLY);
      await vol.vfs.write(fh, 4, b('more'));
      await vol.vfs.release(fh);
      assert.equal((await vol.vfs.getattr(ino)).mode, 0o755, 'written: setuid and setgid are gone');
      await vol.vfs.setattr(ROOT_CALLER, ino, { mode: 0o4755 });
      const rootFh = await vol.vfs.open(ROOT_CALLER, ino, constants.O_WRONLY);
      await vol.vfs.write(rootFh, 0, b('root'));
      await vol.vfs.release(rootFh);
      assert.equal((await vol.vfs.getattr(ino)).mode, 0o4755, 'root writes without clearing');
      assert.equal((await vol.vfs.setattr(ROOT_CALLER, ino, { uid: BOB.uid })).mode, 0o755, 'chown clears setuid');
    });

    test('user xattrs follow the permission bits; trusted ones are root\'s', async () => {
      const ino = await fileOf(ALICE, 'xattrs', 0o644);
      await vol.vfs.setxattr(ALICE, ino, b('user.note'), b('hi'));
      await rejectsWith(() => vol.vfs.setxattr(BOB, ino, b('user.note'), b('no')), 'EACCES', 'user xattr without write permission');
      assert.equal((await vol.vfs.getxattr(BOB, ino, b('user.note'))).toString(), 'hi', 'read with read permission');
      await rejectsWith(() => vol.vfs.setxattr(ALICE, ino, b('trusted.x'), b('v')), 'EPERM', 'trusted xattr by a user');
      await vol.vfs.setxattr(ROOT_CALLER, ino, b('trusted.x'), b('v'));
      await rejectsWith(() => vol.vfs.getxattr(ALICE, ino, b('trusted.x')), 'ENODATA', 'trusted xattr read by a user');
    });
    // Last: it closes the writable instance.
    test('a read-only volume refuses every change with EROFS and still reads', async () => {
      const ino = await fileOf(ALICE, 'kept', 0o644);
      await vol.close(); // an embedded database opens in one instance at a time
      const ro = await dv.open({ readOnly: true });
      const fh = await ro.vfs.open(ALICE, ino, constants.O_RDONLY);
      assert.equal((await ro.vfs.read(fh, 0, 4)).toString(), 'data');
      await ro.vfs.release(fh);
      const changes: [string, () => Promise<unknown>][] = [
        ['open for writing', () => ro.vfs.open(ALICE, ino, constants.O_WRONLY)],
        ['open with O_TRUNC', () => ro.vfs.open(ALICE, ino, constants.O_RDONLY | constants.O_TRUNC)],
        ['create', () => ro.vfs.create(ALICE, shared, b('new'), 0o644, constants.O_WRONLY)],
        ['mkdir', () => ro.vfs.mkdir(ALICE, shared, b('newdir'), 0o755)],
        ['chmod', () => ro.vfs.setattr(ALICE, ino, { mode: 0o600 })],
        ['truncate', () => ro.vfs.setattr(ALICE, ino, { length: 0 })],
        ['setxattr', () => ro.vfs.setxattr(ALICE, ino, b('user.k'), b('v'))],
        ['rename', () => ro.vfs.rename(ALICE, shared, b('kept'), shared, b('moved'))],
        ['unlink', () => ro.vfs.unlink(ALICE, shared, b('kept'))],
      ];
      for (const [what, op] of changes) await rejectsWith(op, 'EROFS', what);
      assert.equal(ro.vfs.readOnly, true);
      assert.equal((await ro.vfs.getattr(ino)).mode, 0o644, 'nothing changed');
    });

  });
}
