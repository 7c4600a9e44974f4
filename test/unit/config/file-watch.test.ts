/**
 * The configuration file is read only once it has settled: a file rewritten in place is empty
 * between its truncation and its write, and must never be read then.
 */
import assert from 'node:assert/strict';
import { open, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { watchSettled } from '../../../src/config/file-watch.js';

const POLL_MS = 20;
const SETTLE_MS = 250;

async function withFile(run: (file: string, seen: string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'objectfs-file-watch-'));
  const file = join(dir, 'objectfs.yaml');
  await writeFile(file, 'memory-cache-size: 16M\n');
  const seen: string[] = [];
  const watch = watchSettled(file, () => {
    // What a reload would read at this moment.
    void readFile(file, 'utf8').then((text) => seen.push(text), () => seen.push('<gone>'));
  }, { pollMs: POLL_MS, settleMs: SETTLE_MS });
  try {
    await sleep(3 * POLL_MS); // the watcher has its first stat
    await run(file, seen);
  } finally {
    watch.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('a file rewritten in place is read once, after its write, never while it is empty', async () => {
  await withFile(async (file, seen) => {
    const fh = await open(file, 'w'); // truncated: empty, as between `>` and echo's write
    await sleep(8 * POLL_MS); // the poller certainly sees the empty file
    await fh.write('memory-cache-size: 24M\n');
    await fh.close();
    await sleep(SETTLE_MS + 10 * POLL_MS);
    assert.deepEqual(seen, ['memory-cache-size: 24M\n']);
  });
});

test('a file that keeps changing is read once it stops; a file left alone is not read', async () => {
  await withFile(async (file, seen) => {
    await sleep(SETTLE_MS + 5 * POLL_MS);
    assert.deepEqual(seen, [], 'nothing changed, nothing read');
    for (let i = 0; i < 5; i++) {
      await writeFile(file, `memory-cache-size: ${i + 1}M\n${'#'.repeat(i)}\n`);
      await sleep(SETTLE_MS / 2);
    }
    await sleep(SETTLE_MS + 10 * POLL_MS);
    assert.deepEqual(seen, ['memory-cache-size: 5M\n####\n']);
  });
});

test('a file removed is reported to the reload (which keeps the settings and says why)', async () => {
  await withFile(async (file, seen) => {
    await rm(file);
    await sleep(SETTLE_MS + 10 * POLL_MS);
    assert.deepEqual(seen, ['<gone>']);
  });
});

test('a change still settling when the watch is closed is never read', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'objectfs-file-watch-'));
  const file = join(dir, 'objectfs.yaml');
  await writeFile(file, 'memory-cache-size: 16M\n');
  let reads = 0;
  const watch = watchSettled(file, () => { reads++; }, { pollMs: POLL_MS, settleMs: SETTLE_MS });
  try {
    await sleep(3 * POLL_MS);
    await writeFile(file, 'memory-cache-size: 32M\n');
    await sleep(5 * POLL_MS); // seen, not yet settled
    watch.close();
    await sleep(SETTLE_MS + 10 * POLL_MS);
    assert.equal(reads, 0);
  } finally {
    watch.close();
    await rm(dir, { recursive: true, force: true });
  }
});
