/**
 * One file written from two hosts at once, without locks (network-namespace bed; loopback when
 * unavailable). Writes may interleave, but the file only ever holds bytes some writer wrote:
 *
 *  - an O_APPEND writer on A whose file another host truncated appends at the new end, not at
 *    the end it wrote before (which left zeros nobody wrote in front of the appended bytes);
 *  - truncate-and-rewrite races (`n=$(cat c); echo $((n+1)) > c` under a host-local flock, two
 *    processes per host): the file always holds one writer's whole line, never a NUL byte.
 *    Reads that race another host's truncate are counted: the kernel may hand a reader zeros for
 *    a moment (docs/semantics.md says when); the data itself never holds them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Daemon } from '../../support/e2e-daemon.js';
import { startMultiHostBed, type MultiHostBed } from '../../support/multihost.js';
import { run } from '../../support/e2e-sh.js';

let bed: MultiHostBed;
let A: Daemon;
let B: Daemon;

before(async () => {
  bed = await startMultiHostBed('shared', 2);
  process.stdout.write(`# ${bed.description}\n`);
  const vol = await bed.newVolume('shared');
  const [hostA, hostB] = bed.hosts;
  [A, B] = await Promise.all([bed.mount(hostA!, vol, 'a'), bed.mount(hostB!, vol, 'b')]);
});

after(async () => {
  await bed?.finish();
});

/** Waits until `path` read on a host has `size` bytes (the change reached that host). */
async function sizeSeen(path: string, size: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await readFile(path)).length === size) return;
    await sleep(10);
  }
  assert.fail(`${path} never showed ${size} bytes`);
}

describe('one file, two hosts, no locks', () => {
  test('an append on A after B truncated the file starts at the new end: no zeros in front', async () => {
    const onA = join(A.mnt, 'appended');
    const f = await open(onA, 'a');
    try {
      await f.write('aaaa\n');
      await f.sync();
      await truncate(join(B.mnt, 'appended'), 0);
      await sizeSeen(onA, 0);
      await f.write('b\n');
      await f.sync();
    } finally {
      await f.close();
    }
    // B's kernel holds the length of its own truncate (0) until A's change notice arrives
    // (milliseconds; docs/semantics.md, "Close-to-open"): wait for it, then check the bytes.
    await sizeSeen(join(B.mnt, 'appended'), 2);
    assert.equal((await readFile(join(B.mnt, 'appended'))).toString('latin1'), 'b\n');
  });

  test('truncate-and-rewrite races from two processes on each host: never a NUL byte in the file', async () => {
    const counter = 'counter';
    await writeFile(join(A.mnt, counter), '0\n');
    const ROUNDS = 60;
    // The shell's own `n=$(cat c)` drops NULs with a warning: read with od to count them.
    const script = `
      cd "$1"; bad=0
      for i in $(seq ${ROUNDS}); do
        flock -x ${counter}.lock sh -c '
          if od -An -c ${counter} | grep -q "\\\\0"; then echo NULREAD; fi
          n=$(tr -d "\\\\000" < ${counter}); echo $((\${n:-0}+1)) > ${counter}'
      done`;
    const outs = await Promise.all([A, A, B, B].map((h) => run('sh', ['-c', script, 'sh', h.mnt], { timeoutMs: 300_000 })));
    for (const r of outs) assert.equal(r.code, 0, r.stderr);
    const nulReads = outs.reduce((n, r) => n + (r.stdout.match(/NULREAD/g)?.length ?? 0), 0);
    console.log(`reads that saw zeros while another host truncated: ${nulReads} of ${4 * ROUNDS}`);
    for (const h of [A, B]) {
      const content = await readFile(join(h.mnt, counter));
      assert.ok(!content.includes(0), `no NUL byte: ${JSON.stringify(content.toString('latin1'))}`);
      assert.match(content.toString('latin1'), /^\d+\n$/, 'one whole line some writer wrote');
    }
  });
});
