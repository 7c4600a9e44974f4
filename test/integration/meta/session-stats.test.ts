/**
 * A mount's session record carries its upload backlog, refreshed at every heartbeat, which is
 * what `objectfs status` shows for each mount (PostgreSQL + a local directory).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshDataVolume, ROOT_CALLER, type DataVolume } from '../../support/data-volume.js';

let dv: DataVolume | undefined;
after(async () => { await dv?.cleanup(); });

test('heartbeats publish the upload queue and write buffer of the session', async () => {
  dv = await freshDataVolume('session-stats', { meta: 'postgres', data: 'file', blockSize: 64 * 1024 });
  const v = await dv.open({ session: { host: 'h', pid: 1, mountPoint: '/m', version: 't' }, heartbeatSeconds: 0.1 });
  const { fh } = await v.vfs.create(ROOT_CALLER, 1, Buffer.from('f'), 0o644, constants.O_RDWR);
  await v.vfs.write(fh, 0, Buffer.alloc(100_000, 1));
  const t0 = Date.now();
  await sleep(300);
  const [session] = await v.meta.listSessions();
  const stats = session?.info.stats;
  assert.ok(stats !== undefined, 'the heartbeat wrote stats');
  assert.ok(stats.at >= t0, 'recent');
  assert.ok(stats.bufferBytes > 0, 'the unflushed write holds write buffer');
  assert.equal(typeof stats.uploadQueueBlocks, 'number');
  await v.vfs.release(fh);
  await sleep(300);
  const [later] = await v.meta.listSessions();
  assert.equal(later?.info.stats?.uploadQueueBlocks, 0);
  assert.equal(later?.info.stats?.bufferBytes, 0);
  assert.deepEqual(await v.meta.deletionBacklog(), { droppedLists: 0, pendingSlices: 0, pendingBytes: 0 });
  await v.vfs.unlink(ROOT_CALLER, 1, Buffer.from('f'));
  assert.equal((await v.meta.deletionBacklog()).droppedLists, 1, 'the deleted file\'s chunk list waits for release');
  await v.vfs.runDeletion(3_600_000);
  assert.deepEqual(await v.meta.deletionBacklog(), { droppedLists: 0, pendingSlices: 1, pendingBytes: 100_000 });
});
