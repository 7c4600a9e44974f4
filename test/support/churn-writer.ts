/**
 * The busy writer of test/integration/maintenance/gc.concurrent.test.ts:
 *
 *   node dist/test/support/churn-writer.js <metaUrl> <durationMs> <seed>
 *
 * For `durationMs` it writes, truncates, renames, deletes and reads back a dozen files in two
 * directories (every change committed at once: open, change, close), keeping each file's
 * expected content in memory; a read that differs from the model ends the process with exit
 * code 1. At the end it closes the volume and sends the model — name → length and sha256 —
 * over IPC, then exits 0.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { ROOT_INO } from '../../src/meta/index.js';
import { openVolume } from '../../src/volume/open-volume.js';
import { crashData } from './crash-data.js';
import { ROOT_CALLER } from './data-volume.js';
import { readFile } from './maintenance.js';
import { makeRng } from './prng.js';

const [metaUrl, durationArg, seedArg] = process.argv.slice(2);
if (metaUrl === undefined || process.send === undefined) {
  process.stderr.write('usage (from a parent with an IPC channel): churn-writer.js <metaUrl> <durationMs> <seed>\n');
  process.exit(2);
}
const rng = makeRng(Number(seedArg));
const vol = await openVolume(metaUrl, { backgroundMs: 2000 });
const sub = await vol.vfs.mkdir(ROOT_CALLER, ROOT_INO, Buffer.from('sub'), 0o755);
const NAMES = Array.from({ length: 12 }, (_, i) => [i % 2 === 0 ? ROOT_INO : sub.ino, `f${i}`] as const);
const model = new Map<string, { parent: number; name: string; data: Buffer }>();
const keyOf = (parent: number, name: string): string => `${parent === ROOT_INO ? '' : 'sub/'}${name}`;
const pick = <T>(xs: readonly T[]): T => xs[rng.int(0, xs.length - 1)] as T;
const bytes = (n: number): Buffer => crashData(rng.int(1, 0xffff_ffff), n);
let ops = 0;

async function step(): Promise<void> {
  const existing = [...model.values()];
  const kind = existing.length === 0 ? 0 : rng.int(0, 9);
  if (kind <= 3) { // write (creating the file if needed)
    const [parent, name] = pick(NAMES);
    const key = keyOf(parent, name);
    let entry = model.get(key);
    let fh: number;
    if (entry === undefined) {
      const created = await vol.vfs.create(ROOT_CALLER, parent, Buffer.from(name), 0o644, constants.O_RDWR);
      fh = created.fh;
      entry = { parent, name, data: Buffer.alloc(0) };
      model.set(key, entry);
    } else fh = await vol.vfs.open(ROOT_CALLER, (await vol.meta.lookup(parent, Buffer.from(name))).ino, constants.O_RDWR);
    const off = rng.int(0, 300 * 1024);
    const data = bytes(rng.int(1, 200 * 1024));
    await vol.vfs.write(fh, off, data);
    await vol.vfs.release(fh);
    const grown = Buffer.alloc(Math.max(entry.data.length, off + data.length));
    entry.data.copy(grown);
    data.copy(grown, off);
    entry.data = grown;
  } else if (kind <= 5) { // truncate
    const e = pick(existing);
    const length = rng.int(0, 400 * 1024);
    await vol.vfs.setattr(ROOT_CALLER, (await vol.meta.lookup(e.parent, Buffer.from(e.name))).ino, { length });
    const cut = Buffer.alloc(length);
    e.data.copy(cut, 0, 0, Math.min(length, e.data.length));
    e.data = cut;
  } else if (kind === 6) { // rename, possibly over another file
    const e = pick(existing);
    const [parent, name] = pick(NAMES);
    const to = keyOf(parent, name);
    if (to === keyOf(e.parent, e.name)) return;
    await vol.vfs.rename(ROOT_CALLER, e.parent, Buffer.from(e.name), parent, Buffer.from(name));
    model.delete(keyOf(e.parent, e.name));
    model.set(to, { parent, name, data: e.data });
  } else if (kind === 7) { // delete
    const e = pick(existing);
    await vol.vfs.unlink(ROOT_CALLER, e.parent, Buffer.from(e.name));
    model.delete(keyOf(e.parent, e.name));
  } else { // read back
    const e = pick(existing);
    const got = await readFile(vol, (await vol.meta.lookup(e.parent, Buffer.from(e.name))).ino);
    if (!got.equals(e.data)) throw new Error(`${keyOf(e.parent, e.name)} read back ${got.length} bytes that differ from the model's ${e.data.length} after ${ops} operations`);
  }
  ops++;
}

try {
  for (const end = Date.now() + Number(durationArg); Date.now() < end;) await step();
  await vol.close();
  const summary = [...model.entries()].map(([key, e]) => ({ key, length: e.data.length, sha256: createHash('sha256').update(e.data).digest('hex') }));
  process.send({ type: 'done', ops, files: summary }, () => process.exit(0));
} catch (err) {
  process.stderr.write(`churn writer failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
}
