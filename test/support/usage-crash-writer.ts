/**
 * The mount-like writer that test/integration/maintenance/fsck.crash-usage.test.ts SIGKILLs:
 *
 *   node dist/test/support/usage-crash-writer.js <metaUrl> <files> <bytesEach>
 *
 * Opens the volume with a session (as a mount does) and a usage fold interval of an hour, so
 * nothing it changes is folded before it dies: creates `files` files of `bytesEach` bytes each
 * (closed: committed), a directory and a symlink, reports "written" with its session id over
 * IPC and waits to be killed.
 */
import { constants } from 'node:fs';
import { ROOT_INO } from '../../src/meta/index.js';
import { openVolume } from '../../src/volume/open-volume.js';
import { crashData } from './crash-data.js';

const [metaUrl, filesArg, bytesArg] = process.argv.slice(2);
if (metaUrl === undefined || process.send === undefined) {
  process.stderr.write('usage (from a parent with an IPC channel): usage-crash-writer.js <metaUrl> <files> <bytesEach>\n');
  process.exit(2);
}
const caller = { uid: 0, gid: 0 };
const vol = await openVolume(metaUrl, {
  backgroundMs: 0, counterFlushMs: 3_600_000,
  session: { host: 'crash-host', pid: process.pid, mountPoint: '/crash', version: 'test' },
});
const dir = await vol.meta.mkdir(caller, ROOT_INO, Buffer.from('d'), 0o755);
await vol.meta.symlink(caller, dir.ino, Buffer.from('link'), Buffer.from('target-of-the-link'));
for (let i = 0; i < Number(filesArg); i++) {
  const { fh } = await vol.vfs.create(caller, dir.ino, Buffer.from(`f${i}`), 0o644, constants.O_WRONLY);
  await vol.vfs.write(fh, 0, crashData(i + 1, Number(bytesArg)));
  await vol.vfs.release(fh);
}
const sessions = await vol.meta.listSessions();
process.send({ type: 'written', sid: sessions.find((s) => s.info.pid === process.pid)?.sid });
process.on('disconnect', () => process.exit(3));
setInterval(() => undefined, 60_000);
