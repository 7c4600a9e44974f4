/**
 * The writer process that test/integration/data/crash.test.ts SIGKILLs between upload and
 * commit:
 *
 *   node dist/test/support/crash-writer.js <metaUrl> <committedBytes> <uncommittedBlocks>
 *
 * Opens the volume, creates `crash` and writes `committedBytes` of crashData(1) with a flush
 * (committed), then overwrites it from offset 0 with `uncommittedBlocks` full blocks of
 * crashData(2), and writes 2 full blocks of crashData(3) into a new file `never-flushed`:
 * neither is flushed, so their full blocks upload but nothing commits them. It reports each
 * stage to the parent over IPC and then waits to be killed.
 */
import { constants } from 'node:fs';
import { ROOT_INO } from '../../src/meta/index.js';
import { openVolume } from '../../src/volume/open-volume.js';
import { crashData } from './crash-data.js';

const [metaUrl, committedArg, blocksArg] = process.argv.slice(2);
if (metaUrl === undefined || process.send === undefined) {
  process.stderr.write('usage (from a parent with an IPC channel): crash-writer.js <metaUrl> <committedBytes> <uncommittedBlocks>\n');
  process.exit(2);
}
const send = (msg: object): void => void process.send?.(msg);
const caller = { uid: 0, gid: 0 };

const vol = await openVolume(metaUrl, { backgroundMs: 0 });
const block = vol.meta.volume.blockSize;
const { fh, attr } = await vol.vfs.create(caller, ROOT_INO, Buffer.from('crash'), 0o644, constants.O_WRONLY);
await vol.vfs.write(fh, 0, crashData(1, Number(committedArg)));
await vol.vfs.flush(fh);
send({ type: 'committed', ino: attr.ino });

await vol.vfs.write(fh, 0, crashData(2, Number(blocksArg) * block));
const other = await vol.vfs.create(caller, ROOT_INO, Buffer.from('never-flushed'), 0o644, constants.O_WRONLY);
await vol.vfs.write(other.fh, 0, crashData(3, 2 * block));
send({ type: 'written', ino: other.attr.ino });
// The parent kills us; exit on our own only if it went away.
process.on('disconnect', () => process.exit(3));
setInterval(() => undefined, 60_000);
