/**
 * Locks across hosts (network-namespace bed; loopback when unavailable): flock(2), POSIX
 * byte-range (fcntl) and OFD locks taken through one mount are seen by every other mount of the
 * volume. Each lock-holding process is a test/support/locker.py driven line by line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Daemon } from '../../support/e2e-daemon.js';
import { startMultiHostBed, type MultiHostBed, type TestVolume } from '../../support/multihost.js';
import { Locker } from '../../support/locker.js';
import { run } from '../../support/e2e-sh.js';
import { statusSessions } from './mh-helpers.js';

let bed: MultiHostBed;
let vol: TestVolume;
let A: Daemon;
let B: Daemon;
const lockers: Locker[] = [];

before(async () => {
  bed = await startMultiHostBed('locks', 3);
  process.stdout.write(`# ${bed.description}\n`);
  vol = await bed.newVolume('locks');
  const [hostA, hostB] = bed.hosts;
  [A, B] = await Promise.all([bed.mount(hostA!, vol, 'a'), bed.mount(hostB!, vol, 'b')]);
});

after(async () => {
  for (const l of lockers) l.kill();
  await bed?.finish();
});

/** A locker process with the file `name` of mount `m` open as `fd` (read-write). */
async function lockerOn(m: Daemon, name: string, flags = 'rw'): Promise<Locker> {
  const l = new Locker();
  lockers.push(l);
  assert.equal(await l.send(`open fd ${join(m.mnt, name)} ${flags}`), 'ok');
  return l;
}

describe('locks across two hosts', () => {
  test('flock: exclusive on A keeps B out (LOCK_NB is EAGAIN), shared locks coexist, unlock lets B in', async () => {
    await writeFile(join(A.mnt, 'flock'), 'x');
    const a = await lockerOn(A, 'flock');
    const b = await lockerOn(B, 'flock');
    assert.equal(await a.send('lock fd flock w 0 0 0'), 'ok');
    assert.equal(await b.send('lock fd flock r 0 0 0'), 'error EAGAIN');
    assert.equal(await b.send('lock fd flock w 0 0 0'), 'error EAGAIN');
    assert.equal(await a.send('lock fd flock r 0 0 0'), 'ok', 'downgrade');
    assert.equal(await b.send('lock fd flock r 0 0 0'), 'ok', 'two shared locks');
    assert.equal(await a.send('lock fd flock w 0 0 0'), 'error EAGAIN', 'no upgrade while B shares it');
    assert.equal(await b.send('lock fd flock u 0 0 0'), 'ok');
    assert.equal(await a.send('lock fd flock w 0 0 0'), 'ok');
    await a.close(); // the last close ends the flock
    assert.equal(await b.send('lock fd flock w 0 0 0'), 'ok');
    await b.close();
  });

  test('flock and fcntl locks are independent of each other (as on Linux)', async () => {
    await writeFile(join(A.mnt, 'mixed'), 'x');
    const a = await lockerOn(A, 'mixed');
    const b = await lockerOn(B, 'mixed');
    assert.equal(await a.send('lock fd flock w 0 0 0'), 'ok');
    assert.equal(await b.send('lock fd posix w 0 0 0'), 'ok');
    await Promise.all([a.close(), b.close()]);
  });

  test('fcntl byte ranges: conflicts by range and type, F_GETLK reports the holder (pid 0 on another host)', async () => {
    await writeFile(join(A.mnt, 'ranges'), Buffer.alloc(100));
    const a = await lockerOn(A, 'ranges');
    const b = await lockerOn(B, 'ranges');
    const a2 = await lockerOn(A, 'ranges');
    assert.equal(await a.send('lock fd posix w 0 10 0'), 'ok');
    assert.equal(await b.send('lock fd posix w 5 10 0'), 'error EAGAIN');
    assert.equal(await b.send('lock fd posix r 9 1 0'), 'error EAGAIN');
    assert.equal(await b.send('lock fd posix w 10 10 0'), 'ok', 'the next bytes are free');
    assert.equal(await b.send('getlk fd posix w 0 100'), 'w 0 10 0', 'another host: type and range, pid 0');
    assert.equal(await a2.send('getlk fd posix r 0 100'), `w 0 10 ${a.pid}`, 'this host: the holder\'s pid');
    // Split: A unlocks the middle of a read lock; B can write-lock the hole but not its edges.
    assert.equal(await a.send('lock fd posix r 30 30 0'), 'ok');
    assert.equal(await a.send('lock fd posix u 40 10 0'), 'ok');
    assert.equal(await b.send('lock fd posix w 40 10 0'), 'ok');
    assert.equal(await b.send('lock fd posix w 35 10 0'), 'error EAGAIN');
    assert.equal(await b.send('lock fd posix r 30 10 0'), 'ok', 'read locks share');
    // Merge and upgrade: A's [0,10) write and a new [10,...) would touch B's [10,20).
    assert.equal(await a.send('lock fd posix w 0 0 0'), 'error EAGAIN', 'to EOF conflicts with B');
    await Promise.all([a.close(), b.close(), a2.close()]);
  });

  test('any close by the owning process ends its POSIX locks; an OFD lock ends with its open file', async () => {
    await writeFile(join(A.mnt, 'closing'), Buffer.alloc(10));
    const a = await lockerOn(A, 'closing');
    const b = await lockerOn(B, 'closing');
    assert.equal(await a.send(`open other ${join(A.mnt, 'closing')} r`), 'ok');
    assert.equal(await a.send('lock fd posix w 0 0 0'), 'ok');
    assert.equal(await b.send('lock fd posix w 0 0 0'), 'error EAGAIN');
    assert.equal(await a.send('close other'), 'ok', 'closing another descriptor of the file');
    assert.equal(await b.send('lock fd posix w 0 0 0'), 'ok');
    assert.equal(await b.send('lock fd posix u 0 0 0'), 'ok');
    // OFD: owned by the open file, not the process; survives the close of another descriptor.
    assert.equal(await a.send(`open ofd ${join(A.mnt, 'closing')} rw`), 'ok');
    assert.equal(await a.send(`open other ${join(A.mnt, 'closing')} r`), 'ok');
    assert.equal(await a.send('lock ofd ofd w 0 0 0'), 'ok');
    assert.equal(await b.send('lock fd ofd w 0 0 0'), 'error EAGAIN');
    assert.equal(await b.send('getlk fd ofd w 0 0'), 'w 0 0 -1', 'OFD holders show pid -1 (Linux)');
    assert.equal(await a.send('close other'), 'ok');
    assert.equal(await b.send('lock fd ofd w 0 0 0'), 'error EAGAIN', 'still held after another close');
    assert.equal(await a.send('close ofd'), 'ok');
    assert.equal(await b.send('lock fd ofd w 0 0 0'), 'ok', 'released with its open file');
    await Promise.all([a.close(), b.close()]);
  });

  test('a waiter on B wakes promptly when A unlocks (the change feed, not a poll)', async () => {
    await writeFile(join(A.mnt, 'wait'), 'x');
    const a = await lockerOn(A, 'wait');
    const b = await lockerOn(B, 'wait');
    const samples: number[] = [];
    for (let i = 0; i < 5; i++) {
      assert.equal(await a.send('lock fd posix w 0 0 0'), 'ok');
      const granted = b.send('lock fd posix w 0 0 1');
      await sleep(300);
      const released = performance.now();
      assert.equal(await a.send('lock fd posix u 0 0 0'), 'ok');
      assert.equal(await granted, 'ok');
      samples.push(performance.now() - released);
      assert.equal(await b.send('lock fd posix u 0 0 0'), 'ok');
    }
    samples.sort((x, y) => x - y);
    console.log(`unlock on A to grant on B: ${samples.map((s) => s.toFixed(1)).join(', ')} ms`);
    assert.ok((samples[2] as number) < 1_000, 'median below 1 s (a poll would take 5 s)');
    await Promise.all([a.close(), b.close()]);
  });

  test('a signal ends a wait with EINTR and leaves nothing behind', async () => {
    await writeFile(join(A.mnt, 'intr'), 'x');
    const a = await lockerOn(A, 'intr');
    const b = await lockerOn(B, 'intr');
    assert.equal(await a.send('lock fd flock w 0 0 0'), 'ok');
    assert.equal(await b.send('alarm 0.5'), 'ok');
    const started = performance.now();
    assert.equal(await b.send('lock fd flock w 0 0 1'), 'error EINTR');
    assert.ok(performance.now() - started < 3_000, 'interrupted promptly');
    assert.equal(await a.send('lock fd flock u 0 0 0'), 'ok');
    const c = await lockerOn(A, 'intr');
    assert.equal(await c.send('lock fd flock w 0 0 0'), 'ok', 'the interrupted waiter got nothing');
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  test('flock -x on both hosts, two processes each: a counter file ends exact, never a NUL', async () => {
    await writeFile(join(A.mnt, 'counter'), '0\n');
    const ROUNDS = 25;
    const script = `cd "$1"; for i in $(seq ${ROUNDS}); do flock -x counter.lock sh -c 'n=$(cat counter); echo $((n+1)) > counter'; done`;
    const outs = await Promise.all([A, A, B, B].map((h) => run('sh', ['-c', script, 'sh', h.mnt], { timeoutMs: 300_000 })));
    for (const r of outs) assert.equal(r.code, 0, r.stderr);
    for (const r of outs) assert.doesNotMatch(r.stderr, /null byte/, 'no read saw a NUL');
    assert.equal((await readFile(join(B.mnt, 'counter'))).toString(), `${4 * ROUNDS}\n`);
  });

  test('a mount killed with kill -9 loses its locks when its session expires; the others then proceed', async () => {
    const C = await bed.mount(bed.hosts[2]!, vol, 'c', ['--session-timeout', '4s']);
    await writeFile(join(A.mnt, 'dead'), 'x');
    const c = await lockerOn(C, 'dead');
    const b = await lockerOn(B, 'dead');
    assert.equal(await c.send('lock fd posix w 0 0 0'), 'ok');
    assert.equal(await b.send('lock fd posix w 0 0 0'), 'error EAGAIN');
    const granted = b.send('lock fd posix w 0 0 1');
    const killedAt = Date.now();
    process.kill(C.pid, 'SIGKILL');
    await C.exited;
    c.kill();
    assert.equal(await granted, 'ok');
    const after = (Date.now() - killedAt) / 1000;
    console.log(`B got the dead mount's lock ${after.toFixed(1)} s after kill -9 (session timeout 4 s, sweep every 10 s)`);
    assert.ok(after < 30, 'within the session timeout plus a sweep');
    assert.ok(!(await statusSessions(vol.metaUrl)).some((s) => s.info.pid === C.pid), 'its session is gone');
    await b.close();
  });
});
