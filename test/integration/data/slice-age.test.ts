/**
 * A slice that nothing flushes (a file appended slowly and left open) is committed once it is
 * older than MAX_UNCOMMITTED_MS: otherwise its uploaded blocks would stay unreferenced past
 * gc's safety window and gc would delete them as leaked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_INO } from '../../../src/meta/index.js';
import { freshDataVolume, KiB, ROOT_CALLER } from '../../support/data-volume.js';

const BLOCK = 64 * KiB;

test('slices left open longer than the limit are committed without a flush; the file stays whole', async () => {
  const dv = await freshDataVolume('slice-age', { meta: 'postgres', data: 's3', blockSize: BLOCK });
  try {
    const vol = await dv.open();
    const { fh, attr } = await vol.vfs.create(ROOT_CALLER, ROOT_INO, Buffer.from('slow.log'), 0o644, constants.O_WRONLY);
    const first = randomBytes(BLOCK + 1000);
    await vol.vfs.write(fh, 0, first);
    const committed = async () => (await vol.meta.readChunk(attr.ino, 0)).slices.length;
    vol.vfs.sealOldSlices(60_000);
    await sleep(300);
    assert.equal(await committed(), 0, 'a young slice stays open');
    vol.vfs.sealOldSlices(0);
    const deadline = Date.now() + 10_000;
    while (await committed() === 0 && Date.now() < deadline) await sleep(50);
    assert.equal(await committed(), 1, 'the old slice is committed while the file is still open');
    assert.equal((await vol.meta.getattr(attr.ino)).length, first.length);
    const second = randomBytes(BLOCK);
    await vol.vfs.write(fh, first.length, second);
    await vol.vfs.release(fh);
    const rfh = await vol.vfs.open(ROOT_CALLER, attr.ino, constants.O_RDONLY);
    const whole = await vol.vfs.read(rfh, 0, first.length + second.length + 10);
    assert.ok(Buffer.concat([first, second]).equals(whole));
    await vol.vfs.release(rfh);
  } finally {
    await dv.cleanup();
  }
});
