/**
 * Locks across hosts (network-namespace bed; loopback when unavailable): flock(2), POSIX
 * byte-range (fcntl) and OFD locks taken through one mount are seen by every other mount of the
 * volume. Each lock-holding process is a test/support/locker.py driven line by line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { OBJECTFS_BIN, type Daemon } from '../../support/e2e-daemon.js';
import { startMultiHostBed, type MultiHostBed, type TestVolume } from '../../support/multihost.js';
import { Locker } from '../../support/locker.js';
import { run } from '../../support/e2e-sh.js';
import { statusSessions } from './mh-helpers.js';

const COUNTER = fileURLToPath(new URL('../../../../test/support/lock-counter.py', import.meta.url));

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

/** Runs `perHost` lock-counter.py processes of `mode` on A and on B, `rounds` each; returns the seconds taken. */
async function countOnBothHosts(mode: string, dir: string, perHost: number, rounds: number): Promise<number> {
  const started = performance.now();
  const procs = [A, B].flatMap((h) => Array.from({ length: perHost }, (_, i) => run('python3', [COUNTER, mode, join(h.mnt, dir), String(rounds), String(i)], { timeoutMs: 600_000 })));
  for (const r of await Promise.all(procs)) assert.equal(r.code, 0, r.stderr);
  return (performance.now() - started) / 1000;
}

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
    // The kernel sends the release of a closed file after close(2) returns: B waits for it.
    assert.equal(await b.send('lock fd flock w 0 0 1', 10_000), 'ok');
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
    assert.equal(await b.send('lock fd ofd w 0 0 1', 10_000), 'ok', 'released with its open file (its release follows the close)');
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

  test('status lists the locks each session holds (text and --json)', async () => {
    await writeFile(join(A.mnt, 'listed'), 'x');
    const a = await lockerOn(A, 'listed');
    const pid = Number(await a.send('pid'));
    assert.equal(await a.send('lock fd posix w 10 5 0'), 'ok');
    const sessionA = (await statusSessions(vol.metaUrl)).find((s) => s.info.pid === A.pid);
    const ino = (await stat(join(A.mnt, 'listed'))).ino;
    assert.deepEqual(sessionA?.locks, [{ ino, kind: 'posix', type: 'write', start: 10, end: 15, pid }]);
    assert.equal(await a.send('lock fd flock r 0 0 0'), 'ok');
    const text = await run(process.execPath, [OBJECTFS_BIN, 'status', vol.metaUrl]);
    assert.match(text.stdout, new RegExp(`locks: 2\\n\\s+inode ${ino} flock read whole file, pid ${pid}\\n\\s+inode ${ino} posix write bytes 10-14, pid ${pid}`));
    await a.close();
    assert.deepEqual((await statusSessions(vol.metaUrl)).find((s) => s.info.pid === A.pid)?.locks, [], 'gone with the process');
  });

  test('metrics count grants, conflicts, waits and the time waited', async () => {
    const metric = async (m: Daemon, name: string, kind: string): Promise<number> => {
      const text = (await readFile(join(m.mnt, '.stats'))).toString();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{kind="${kind}"} `));
      return Number(line?.split(' ')[1] ?? 0);
    };
    const names = ['objectfs_lock_grants_total', 'objectfs_lock_conflicts_total', 'objectfs_lock_waits_total', 'objectfs_lock_wait_duration_seconds_count'];
    const before = await Promise.all(names.map((n) => metric(B, n, 'posix')));
    await writeFile(join(A.mnt, 'counted'), 'x');
    const a = await lockerOn(A, 'counted');
    const b = await lockerOn(B, 'counted');
    assert.equal(await a.send('lock fd posix w 0 0 0'), 'ok');
    assert.equal(await b.send('lock fd posix w 0 0 0'), 'error EAGAIN');
    const waited = b.send('lock fd posix w 0 0 1');
    await sleep(200);
    assert.equal(await a.send('lock fd posix u 0 0 0'), 'ok');
    assert.equal(await waited, 'ok');
    const after = await Promise.all(names.map((n) => metric(B, n, 'posix')));
    const delta = after.map((v, i) => v - before[i]!);
    assert.equal(delta[0], 1, 'one grant on B');
    assert.ok(delta[1]! >= 2, `conflicts: the refused try and at least one try of the wait (${delta[1]})`);
    assert.equal(delta[2], 1, 'one wait');
    assert.equal(delta[3], 1, 'one wait timed');
    await Promise.all([a.close(), b.close()]);
  });

  test('a wait that closes a cycle of waiters on one host is EDEADLK; the other wait goes on', async () => {
    await writeFile(join(A.mnt, 'deadlock'), 'xx');
    const p1 = await lockerOn(A, 'deadlock');
    const p2 = await lockerOn(A, 'deadlock');
    assert.equal(await p1.send('lock fd posix w 0 1 0'), 'ok');
    assert.equal(await p2.send('lock fd posix w 1 1 0'), 'ok');
    const p1waits = p1.send('lock fd posix w 1 1 1');
    await sleep(300); // p1 is waiting for p2
    assert.equal(await p2.send('lock fd posix w 0 1 1'), 'error EDEADLK');
    assert.equal(await p2.send('lock fd posix u 1 1 0'), 'ok');
    assert.equal(await p1waits, 'ok', 'p1 gets the byte p2 let go of');
    await Promise.all([p1.close(), p2.close()]);
  });

  test('counters under locks, 2 hosts × 4 processes × 150 rounds: flock, fcntl on disjoint and on overlapping ranges', async () => {
    const ROUNDS = 150;
    for (const dir of ['flock', 'disjoint', 'overlap']) await mkdir(join(A.mnt, `count-${dir}`));
    await writeFile(join(A.mnt, 'count-flock', 'counter'), '0\n');
    await writeFile(join(A.mnt, 'count-disjoint', 'ranges'), '0'.repeat(32));
    await writeFile(join(A.mnt, 'count-overlap', 'ranges'), '0'.repeat(32));
    // The three workloads use different files: run side by side, they take the time of the slowest.
    const seconds = await Promise.all(['flock', 'disjoint', 'overlap'].map((mode) => countOnBothHosts(mode, `count-${mode}`, 4, ROUNDS)));
    assert.equal((await readFile(join(B.mnt, 'count-flock', 'counter'))).toString(), `${8 * ROUNDS}\n`, 'flock: every increment counted');
    const each = `${4 * ROUNDS}`.padStart(16, '0');
    assert.equal((await readFile(join(A.mnt, 'count-disjoint', 'ranges'))).toString(), each + each, 'disjoint ranges: both counters exact');
    assert.equal((await readFile(join(B.mnt, 'count-overlap', 'ranges'))).toString().slice(8, 24), `${8 * ROUNDS}`.padStart(16, '0'), 'overlapping ranges: the shared counter exact');
    console.log(`8 × ${ROUNDS} locked increments each, side by side: flock ${seconds[0]!.toFixed(1)} s, fcntl disjoint ${seconds[1]!.toFixed(1)} s, fcntl overlapping ${seconds[2]!.toFixed(1)} s`);
  });

  test('SQLite (rollback journal) on the shared volume, 2 hosts × 2 processes × 120 transactions: intact, counter exact', async () => {
    const ROUNDS = 120;
    await mkdir(join(A.mnt, 'sql'));
    const setup = await run('python3', ['-c', `import sqlite3; db = sqlite3.connect(${JSON.stringify(join(A.mnt, 'sql', 'db.sqlite'))}); db.execute('PRAGMA journal_mode=DELETE'); db.execute('CREATE TABLE counter (n INTEGER)'); db.execute('INSERT INTO counter VALUES (0)'); db.commit(); db.close()`]);
    assert.equal(setup.code, 0, setup.stderr);
    const seconds = await countOnBothHosts('sqlite', 'sql', 2, ROUNDS);
    const check = await run('python3', ['-c', `import sqlite3; db = sqlite3.connect(${JSON.stringify(join(B.mnt, 'sql', 'db.sqlite'))}); print(db.execute('PRAGMA integrity_check').fetchone()[0], db.execute('SELECT n FROM counter').fetchone()[0])`]);
    assert.equal(check.code, 0, check.stderr);
    assert.equal(check.stdout.trim(), `ok ${4 * ROUNDS}`);
    console.log(`SQLite: ${4 * ROUNDS} transactions from 4 processes on 2 hosts in ${seconds.toFixed(1)} s`);
  });

  test('PostgreSQL restarts while a lock is held and waited for: the lock holds, the waiter gets it after the release', async () => {
    await writeFile(join(A.mnt, 'restart'), 'x');
    const a = await lockerOn(A, 'restart');
    const b = await lockerOn(B, 'restart');
    assert.equal(await a.send('lock fd posix w 0 0 0'), 'ok');
    const waited = b.send('lock fd posix w 0 0 1', 120_000);
    await bed.pg.stop();
    await sleep(1_000);
    await bed.pg.start();
    const c = await lockerOn(B, 'restart');
    assert.equal(await c.send('lock fd posix w 0 0 0'), 'error EAGAIN', 'the lock survived the restart');
    const released = Date.now();
    assert.equal(await a.send('lock fd posix u 0 0 0'), 'ok');
    assert.equal(await waited, 'ok');
    console.log(`after the restart, B's waiter got the lock ${Date.now() - released} ms after A released it`);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  test('a mount cut off from the network loses its locks when its session expires; its next operation on the file is EIO, once', async () => {
    // Not skipped on the loopback fallback: a network cut cannot be made there, and a test that
    // did not run must not pass (setup installs iproute2; the suite runs as root).
    assert.equal(bed.mode, 'netns', `cutting one host off needs the network-namespace bed: ${bed.description}`);
    const host = bed.hosts[2]!;
    const C = await bed.mount(host, vol, 'cut', ['--session-timeout', '4s']);
    await writeFile(join(A.mnt, 'cut'), 'x');
    const c = await lockerOn(C, 'cut', 'w');
    const b = await lockerOn(B, 'cut');
    assert.equal(await c.send('lock fd posix w 0 0 0'), 'ok');
    const granted = b.send('lock fd posix w 0 0 1');
    const cutAt = Date.now();
    bed.setLink(host, false);
    try {
      assert.equal(await granted, 'ok', 'B gets the lock once the cut-off session expired');
      console.log(`B got the cut-off mount's lock ${((Date.now() - cutAt) / 1000).toFixed(1)} s after the cut (session timeout 4 s)`);
    } finally {
      bed.setLink(host, true);
    }
    // C's next heartbeat finds its session gone and takes a new one: its locks are known lost.
    for (let i = 0; i < 300 && !(await statusSessions(vol.metaUrl)).some((s) => s.info.pid === C.pid); i++) await sleep(100);
    assert.equal(await c.send('write fd y'), 'error EIO', 'the lock-holder is told its lock is gone');
    assert.equal(await c.send('write fd y'), 'ok', 'once');
    c.kill();
    await b.close();
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
