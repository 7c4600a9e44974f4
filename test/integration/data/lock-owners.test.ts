/**
 * The kernel names a flock or OFD lock's owner by the address of its open file, and sends an
 * open file's RELEASE in the background: a newer open file at the same address may have taken a
 * lock under the same owner id before the old RELEASE arrives. That RELEASE must drop only what
 * was taken through its own open file. (Found by CI: two `flock -x` holders at once, one
 * increment of a shared counter lost.) Through the library's vfs, on both metadata engines.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { FsError, ROOT_INO, type Volume } from '../../../src/index.js';
import { LOCK_EOF as EOF } from '../../../src/meta/index.js';
import { freshDataVolume, KiB, ROOT_CALLER, type DataVolume, type MetaBackend } from '../../support/data-volume.js';

const OWNER = 0xffff_8880_1234_5600n; // what the kernel makes of an open file's address
const OTHER = 0xffff_8880_9999_0000n;

for (const meta of ['pglite', 'postgres'] as const satisfies readonly MetaBackend[]) {
  describe(`lock owners reused by a newer open file (${meta})`, () => {
    let dv: DataVolume;
    let vol: Volume;

    before(async () => {
      dv = await freshDataVolume(`lock-owners-${meta}`, { meta, data: 'file', blockSize: 64 * KiB });
      vol = await dv.open({ session: { host: 'h', pid: process.pid, mountPoint: '/test/lock-owners', version: 'test' } });
    });
    after(async () => { await dv?.cleanup(); });

    /** A fresh file, and an open file of `OTHER` on it that tries a write lock of `kind` without waiting. */
    async function fileWithProbe(name: string): Promise<{ ino: number; tryOther: (kind: 'flock' | 'posix') => Promise<string> }> {
      const created = await vol.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from(name), 0o644, constants.O_RDWR);
      await vol.vfs.release(created.fh);
      const probe = await vol.vfs.open(ROOT_CALLER, created.attr.ino, constants.O_RDWR);
      const tryOther = async (kind: 'flock' | 'posix'): Promise<string> => {
        try {
          await vol.vfs.setLock(probe, OTHER, kind, 'write', 0, EOF, 2, false);
        } catch (err) {
          if (err instanceof FsError) return err.code;
          throw err;
        }
        await vol.vfs.setLock(probe, OTHER, kind, undefined, 0, EOF, 2, false);
        return 'granted';
      };
      return { ino: created.attr.ino, tryOther };
    }

    for (const kind of ['flock', 'posix'] as const) {
      test(`${kind === 'flock' ? 'flock' : 'OFD'}: the late RELEASE of the old open file leaves the new one's lock in place`, async () => {
        const { ino, tryOther } = await fileWithProbe(`late-release-${kind}`);
        const old = await vol.vfs.open(ROOT_CALLER, ino, constants.O_RDWR);
        await vol.vfs.setLock(old, OWNER, kind, 'write', 0, EOF, 1, false);
        // The kernel's unlock as the old open file goes away; its RELEASE is still on the way.
        await vol.vfs.setLock(old, OWNER, kind, undefined, 0, EOF, 1, false);
        const newer = await vol.vfs.open(ROOT_CALLER, ino, constants.O_RDWR);
        await vol.vfs.setLock(newer, OWNER, kind, 'write', 0, EOF, 1, false);
        assert.equal(await tryOther(kind), 'EAGAIN', 'the newer open file holds the lock');
        await vol.vfs.release(old, kind === 'flock' ? OWNER : undefined);
        assert.equal(await tryOther(kind), 'EAGAIN', 'still held after the old open file\'s RELEASE');
        await vol.vfs.release(newer, kind === 'flock' ? OWNER : undefined);
        assert.equal(await tryOther(kind), 'granted', 'the newer open file\'s own RELEASE ends it');
      });

      test(`${kind === 'flock' ? 'flock' : 'OFD'}: a RELEASE without the kernel's unlock still ends the open file's lock`, async () => {
        const { ino, tryOther } = await fileWithProbe(`release-only-${kind}`);
        const fh = await vol.vfs.open(ROOT_CALLER, ino, constants.O_RDWR);
        await vol.vfs.setLock(fh, OWNER, kind, 'write', 0, EOF, 1, false);
        assert.equal(await tryOther(kind), 'EAGAIN');
        await vol.vfs.release(fh, kind === 'flock' ? OWNER : undefined);
        assert.equal(await tryOther(kind), 'granted');
      });
    }
  });
}
