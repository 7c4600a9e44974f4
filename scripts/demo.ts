/** A short tour of the metadata engine on the demo volume (run by scripts/demo.sh). */
import { openMeta, ROOT_INO, stMode } from '../src/index.js';

const metaUrl = process.argv[2];
if (metaUrl === undefined) throw new Error('usage: demo.js META_URL');
const meta = await openMeta(metaUrl);
try {
  const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const name = Buffer.from(`run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  const dir = await meta.mkdir(me, ROOT_INO, name, 0o755);
  const file = await meta.mknod(me, dir.ino, Buffer.from('hello.txt'), 'file', 0o644);
  await meta.symlink(me, dir.ino, Buffer.from('link'), Buffer.from('hello.txt'));
  await meta.rename(dir.ino, Buffer.from('hello.txt'), dir.ino, Buffer.from('greeting.txt'));
  await meta.setxattr(file.ino, Buffer.from('user.lang'), Buffer.from('en'));
  process.stdout.write(`created /${name.toString()} with:\n`);
  for (const e of (await meta.readdir(dir.ino)).entries) {
    process.stdout.write(`  ${stMode(e.attr).toString(8).padStart(7, '0')} ino ${String(e.ino).padStart(5)}  ${e.name.toString()}\n`);
  }
  const root = await meta.readdir(ROOT_INO);
  process.stdout.write(`the volume root holds ${root.entries.length} demo run(s)\n`);
} finally {
  await meta.close();
}
