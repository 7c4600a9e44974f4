/**
 * warmup and umount on a real mount print a result that parses with --json, and warmup with
 * --no-progress writes nothing to stderr (embedded volume: PGlite metadata, local-directory data).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startMount, isMounted, type TestMount } from '../support/mounted.js';
import { runCli } from '../support/cli.js';

let m: TestMount;

before(async () => { m = await startMount('cli-json', { meta: 'pglite', data: 'file' }); });
after(async () => { await m?.cleanup(); });

test('warmup --json --no-progress, then umount --json', async () => {
  await writeFile(join(m.mnt, 'a'), Buffer.alloc(300_000, 7));
  await writeFile(join(m.mnt, 'b'), 'small');
  const warm = await runCli(['warmup', m.mnt, '--json', '--no-progress']);
  assert.equal(warm.code, 0, warm.stderr);
  assert.equal(warm.stderr, '');
  const w = JSON.parse(warm.stdout) as { files: number; warmed: number; bytes: number; failed: string[] };
  assert.deepEqual({ files: w.files, warmed: w.warmed, bytes: w.bytes, failed: w.failed }, { files: 2, warmed: 2, bytes: 300_005, failed: [] });

  const text = await runCli(['warmup', join(m.mnt, 'a'), '--no-progress']);
  assert.match(text.stdout, /^warmed 1 file\(s\), 293\.0 KiB in /);
  assert.equal(text.stderr, '');

  const u = await runCli(['umount', m.mnt, '--json', '--timeout', '2m']);
  assert.equal(u.code, 0, u.stderr);
  const { pid, ...rest } = JSON.parse(u.stdout) as { pid: unknown };
  assert.deepEqual(rest, { mountPoint: m.mnt, unmounted: true, how: 'daemon' });
  assert.equal(typeof pid, 'number');
  assert.equal(isMounted(m.mnt), false);
});
