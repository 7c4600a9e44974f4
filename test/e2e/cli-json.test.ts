/**
 * Commands that act on a real mount print a result that parses with --json: mount
 * --background, warmup and umount; warmup with --no-progress writes nothing to stderr.
 * Embedded volumes (PGlite metadata, local-directory data).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMount, isMounted, type TestMount } from '../support/mounted.js';
import { runCli } from '../support/cli.js';
import { alive, waitFor } from '../support/e2e-daemon.js';

let m: TestMount;
let dir: string;
/** Daemons started with --background here, stopped in `after` if a test left one running. */
const daemons: { pid: number; mnt: string }[] = [];

before(async () => {
  m = await startMount('cli-json', { meta: 'pglite', data: 'file' });
  dir = await mkdtemp(join(tmpdir(), 'cli-json-'));
});
after(async () => {
  await m?.cleanup();
  for (const d of daemons) {
    if (alive(d.pid)) process.kill(d.pid, 'SIGTERM');
    await waitFor(() => !alive(d.pid), 30_000);
    if (isMounted(d.mnt)) execFileSync('fusermount', ['-uz', d.mnt], { stdio: 'ignore' });
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

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

test('mount --background --json prints the daemon pid and log', async () => {
  const meta = `pglite://${dir}/meta`;
  const mnt = join(dir, 'mnt');
  const format = await runCli(['format', meta, 'bg', '--storage', `file://${dir}/data`, '--json']);
  assert.equal(format.code, 0, format.stderr);
  const log = join(dir, 'daemon.log');
  const r = await runCli(['mount', meta, mnt, '--background', '--json', '--log', log, '--cache-dir', join(dir, 'cache'), '--no-metrics'], {}, 150_000);
  const started = r.code === 0 ? JSON.parse(r.stdout) as { mountPoint: string; pid: number; log: string } : undefined;
  if (started !== undefined) daemons.push({ pid: started.pid, mnt });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual({ ...started, pid: typeof started?.pid }, { mountPoint: mnt, pid: 'number', log });
  assert.ok(isMounted(mnt));
  const u = await runCli(['umount', mnt, '--json']);
  assert.equal(u.code, 0, u.stderr);
  assert.equal((JSON.parse(u.stdout) as { pid: number }).pid, started?.pid);
});
