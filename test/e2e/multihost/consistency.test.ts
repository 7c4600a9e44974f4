/**
 * One volume mounted by several hosts at once (each mount a separate `objectfs mount` process in
 * its own network namespace, talking to PostgreSQL and s3rver over the network; loopback when
 * namespaces are unavailable, and the output says which):
 *
 *  - close-to-open: written and closed on A, read on B (also by a B that read the old content);
 *  - append on A while B reads the same open file;
 *  - a directory tree renamed back and forth on A while B walks it;
 *  - the same name created on A and B at once: exactly one wins, the other gets EEXIST;
 *  - change notification latency (rename and unlink on A, seen by B), printed and bounded;
 *  - concurrent writers on A and B for 60 s in one directory, while a third host is killed
 *    with kill -9 mid-write: every file complete, the listing equal on both hosts, the dead
 *    session cleaned within about a minute;
 *  - `objectfs status` lists every mount's session; a clean unmount removes its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { appendFile, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { alive, waitFor, type Daemon } from '../../support/e2e-daemon.js';
import { startMultiHostBed, type MultiHostBed, type TestVolume } from '../../support/multihost.js';
import { namedBytes, outcome, percentile, statusSessions, walk } from './mh-helpers.js';

let bed: MultiHostBed;
let vol: TestVolume;
let A: Daemon;
let B: Daemon;
/** Daemons a test stopped on purpose. */
const stopped = new Set<number>();
const WRITE_SECONDS = Number(process.env['OBJECTFS_MULTIHOST_WRITE_SECONDS'] ?? 60);

before(async () => {
  bed = await startMultiHostBed('multihost', 3);
  process.stdout.write(`# ${bed.description}\n`);
  vol = await bed.newVolume('shared');
  const [hostA, hostB] = bed.hosts;
  [A, B] = await Promise.all([bed.mount(hostA!, vol, 'a'), bed.mount(hostB!, vol, 'b')]);
});

after(async () => {
  // A mount that died on its own is a failure to explain: show how it ended.
  for (const d of [A, B]) if (d !== undefined && !stopped.has(d.pid) && !alive(d.pid)) process.stdout.write(`# daemon ${d.pid} died; its log ends:\n${d.log().split('\n').slice(-40).map((l) => `#   ${l}`).join('\n')}\n`);
  await bed?.finish();
});

describe('two hosts, one volume', () => {
  test('the bed says how the hosts are connected', (t) => {
    t.diagnostic(bed.description);
    assert.ok(bed.mode === 'netns' || bed.mode === 'loopback');
  });

  test('close-to-open: written and closed on A, read on B; rewritten on A, read again on B', async () => {
    const first = namedBytes('c2o-1', 3 * 1024 * 1024 + 17);
    await writeFile(join(A.mnt, 'c2o'), first);
    assert.ok((await readFile(join(B.mnt, 'c2o'))).equals(first), 'B reads what A closed');
    // B keeps the file open (its chunk maps and attributes cached) while A rewrites it.
    const held = await open(join(B.mnt, 'c2o'), 'r');
    try {
      const second = namedBytes('c2o-2', 1024 * 1024 + 5);
      await writeFile(join(A.mnt, 'c2o'), second);
      assert.equal((await stat(join(B.mnt, 'c2o'))).size, second.length, 'B stats the new size');
      assert.ok((await readFile(join(B.mnt, 'c2o'))).equals(second), 'a new open on B reads the new content');
    } finally {
      await held.close();
    }
  });

  test('close-to-open does not wait for the change notice: B opens right after A\'s close, with the old length in its kernel', async () => {
    // B's kernel holds the file's attributes (attribute timeout 1 s) from its stat; A's rewrite
    // makes the file longer. The listening connections' server processes are stopped meanwhile,
    // so A's change notice reaches B only afterwards: B's open itself must make the kernel read
    // with the new length.
    await mkdir(join(A.mnt, 'c2o-race'));
    const db = new pg.Client({ connectionString: vol.metaUrl });
    await db.connect();
    try {
      const listeners = (await db.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'objectfs-listen'`)).rows.map((r) => r.pid);
      assert.ok(listeners.length >= 2, `both mounts listen (${listeners.length} listening connections)`);
      for (let i = 0; i < 10; i++) {
        const name = join('c2o-race', `f${i}`);
        const before = Buffer.from(`round ${i}: short\n`);
        const after = Buffer.from(`round ${i}: a longer line than before, so the length changes\n`);
        await writeFile(join(A.mnt, name), before);
        assert.ok(await waitFor(async () => (await stat(join(B.mnt, name))).size === before.length, 5_000), `B sees round ${i}'s first length`);
        let seen: Buffer;
        try {
          for (const pid of listeners) process.kill(pid, 'SIGSTOP');
          await writeFile(join(A.mnt, name), after);
          seen = await readFile(join(B.mnt, name));
        } finally {
          // Every stopped server process goes on, whatever happened (one left stopped would
          // hold up the rest of the file).
          for (const pid of listeners) {
            try {
              process.kill(pid, 'SIGCONT');
            } catch {
              // gone
            }
          }
        }
        assert.ok(seen.equals(after), `round ${i}: B read ${JSON.stringify(seen.toString())}, not what A closed`);
      }
    } finally {
      await db.end();
    }
  });

  test('append on A while B reads the open file', async () => {
    const path = 'appended';
    await writeFile(join(A.mnt, path), '');
    const records = 40;
    const record = (i: number) => namedBytes(`append-${i}`, 10_000 + i * 97);
    const expected = Buffer.concat(Array.from({ length: records }, (_, i) => record(i)));
    const reader = await open(join(B.mnt, path), 'r');
    let writing = true;
    const readAll = (async () => {
      const got: Buffer[] = [];
      let pos = 0;
      const deadline = Date.now() + 60_000;
      while (pos < expected.length && Date.now() < deadline) {
        const buf = Buffer.alloc(65536);
        const { bytesRead } = await reader.read(buf, 0, buf.length, pos);
        if (bytesRead === 0) {
          if (!writing && pos >= expected.length) break;
          await sleep(10);
          continue;
        }
        const chunk = buf.subarray(0, bytesRead);
        assert.ok(chunk.equals(expected.subarray(pos, pos + bytesRead)), `B read the appended bytes at ${pos}..${pos + bytesRead}`);
        got.push(chunk);
        pos += bytesRead;
      }
      return pos;
    })();
    const writer = await open(join(A.mnt, path), 'a');
    try {
      for (let i = 0; i < records; i++) {
        await writer.write(record(i));
        await writer.sync();
        await sleep(15);
      }
    } finally {
      writing = false;
      await writer.close();
    }
    try {
      assert.equal(await readAll, expected.length, 'B read everything A appended');
    } finally {
      await reader.close();
    }
  });

  test('a tree renamed on A while B walks it: the old tree or the new one, never a mix', async (t) => {
    const base = 'walk';
    await mkdir(join(A.mnt, base, 'old', 'd1', 'd2'), { recursive: true });
    await mkdir(join(A.mnt, base, 'old', 'e1'), { recursive: true });
    for (const p of ['f0', 'd1/f1', 'd1/d2/f2', 'd1/d2/f3', 'e1/f4']) await writeFile(join(A.mnt, base, 'old', p), namedBytes(p, 3000));
    const expected = await walk(join(A.mnt, base, 'old'));
    let moving = true;
    let renames = 0;
    const mover = (async () => {
      let from = 'old';
      const deadline = Date.now() + 8_000;
      while (Date.now() < deadline) {
        const to = from === 'old' ? 'new' : 'old';
        await rename(join(A.mnt, base, from), join(A.mnt, base, to));
        renames++;
        from = to;
        await sleep(5);
      }
      moving = false;
    })();
    let complete = 0;
    let interrupted = 0;
    try {
      while (moving) {
        const top = (await readdir(join(B.mnt, base))).sort();
        assert.ok(top.length === 1 && (top[0] === 'old' || top[0] === 'new'), `B lists exactly one of old/new: ${JSON.stringify(top)}`);
        try {
          const seen = await walk(join(B.mnt, base, top[0]!));
          assert.deepEqual([...seen], [...expected], 'a complete walk sees the whole tree, unchanged');
          complete++;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
          interrupted++;
        }
      }
    } finally {
      await mover;
    }
    t.diagnostic(`${renames} renames on A; B walked ${complete} complete trees, ${interrupted} walks met ENOENT for the moved name`);
    assert.ok(complete > 0, 'at least one walk completed');
  });

  test('the same name created on A and B at once: exactly one wins, the other gets EEXIST', async () => {
    await mkdir(join(A.mnt, 'race'));
    for (let i = 0; i < 25; i++) {
      const name = join('race', `f${i}`);
      const create = (mnt: string) => outcome(async () => (await open(join(mnt, name), constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY)).close());
      const results = (await Promise.all([create(A.mnt), create(B.mnt)])).sort();
      assert.deepEqual(results, ['EEXIST', 'ok'], `exclusive create of ${name}`);
      const dirs = (await Promise.all([outcome(() => mkdir(join(A.mnt, 'race', `d${i}`))), outcome(() => mkdir(join(B.mnt, 'race', `d${i}`)))])).sort();
      assert.deepEqual(dirs, ['EEXIST', 'ok'], `mkdir race of d${i}`);
    }
    assert.deepEqual((await readdir(join(A.mnt, 'race'))).sort(), (await readdir(join(B.mnt, 'race'))).sort());
  });

  test('a rename or unlink on A is seen on B well before the cache timeouts (notification latency)', async (t) => {
    await mkdir(join(A.mnt, 'lat'));
    const samples: { rename: number[]; unlink: number[] } = { rename: [], unlink: [] };
    const seenGone = async (path: string): Promise<number> => {
      const start = performance.now();
      while (performance.now() - start < 5_000) {
        if ((await outcome(() => stat(path))) === 'ENOENT') return performance.now() - start;
        await sleep(2);
      }
      throw new Error(`${path} still visible on B after 5 s`);
    };
    for (let i = 0; i < 25; i++) {
      await writeFile(join(A.mnt, 'lat', `f${i}`), 'x');
      await writeFile(join(A.mnt, 'lat', `u${i}`), 'x');
      // B resolves both names (its path cache and the kernel's entry cache now hold them).
      await stat(join(B.mnt, 'lat', `f${i}`));
      await stat(join(B.mnt, 'lat', `u${i}`));
      await rename(join(A.mnt, 'lat', `f${i}`), join(A.mnt, 'lat', `g${i}`));
      samples.rename.push(await seenGone(join(B.mnt, 'lat', `f${i}`)));
      await unlink(join(A.mnt, 'lat', `u${i}`));
      samples.unlink.push(await seenGone(join(B.mnt, 'lat', `u${i}`)));
    }
    // How the notices fared (metrics of both mounts), for a failure to say where they stopped.
    const feed = async (d: Daemon) => (await readFile(join(d.mnt, '.stats'), 'utf8')).split('\n')
      .filter((l) => /^objectfs_(change_notices_total|fuse_notices_)/.test(l)).join('; ');
    const count = (text: string, metric: string) => Number(new RegExp(`${metric.replace(/[{}]/g, '\\$&')} (\\d+)`).exec(text)?.[1] ?? 0);
    let figures = '';
    // B counts every notice A sent (the last may still be on its way) and handed some to its kernel.
    await waitFor(async () => {
      figures = `A: ${await feed(A)} | B: ${await feed(B)}`;
      const [a, b] = figures.split(' | ') as [string, string];
      return count(b, 'objectfs_change_notices_total{event="received"}') === count(a, 'objectfs_change_notices_total{event="sent"}');
    }, 2_000);
    t.diagnostic(figures);
    const [fromA, atB] = figures.split(' | ') as [string, string];
    // The feed may carry several changes in one notice, so A's count is not one per operation.
    assert.ok(count(fromA, 'objectfs_change_notices_total{event="sent"}') > 0, `A counts its notices (${figures})`);
    assert.equal(count(atB, 'objectfs_change_notices_total{event="received"}'), count(fromA, 'objectfs_change_notices_total{event="sent"}'), `B received what A sent (${figures})`);
    assert.equal(count(fromA, 'objectfs_change_notices_total{event="send_failed"}'), 0, figures);
    assert.ok(count(atB, 'objectfs_fuse_notices_sent_total') > 0, `B handed notices to its kernel (${figures})`);
    for (const [op, list] of Object.entries(samples)) {
      const sorted = [...list].sort((a, b) => a - b);
      t.diagnostic(`invalidation latency of ${op} (A → B, ${sorted.length} samples, 2 ms polling): p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms`);
      // Without notification B's path cache would hold the name for up to the entry timeout (1 s).
      assert.ok(percentile(sorted, 50) < 250, `${op}: median latency ${percentile(sorted, 50).toFixed(1)} ms is well under the 1 s entry timeout (${figures})`);
    }
  });

  test('a file open on B and unlinked on A: B reads its own data or gets ESTALE, never other bytes', async (t) => {
    const data = namedBytes('doomed', 4 * 1024 * 1024);
    await writeFile(join(A.mnt, 'doomed'), data);
    const fh = await open(join(B.mnt, 'doomed'), 'r');
    const seen = new Map<string, number>();
    try {
      const head = Buffer.alloc(65536);
      await fh.read(head, 0, head.length, 0);
      assert.ok(head.equals(data.subarray(0, head.length)), 'B reads the file before the unlink');
      await unlink(join(A.mnt, 'doomed'));
      await writeFile(join(A.mnt, 'doomed'), namedBytes('successor', data.length)); // a new file under the same name
      await sleep(200); // the change notice arrives
      for (let off = head.length; off < data.length; off += 512 * 1024) {
        const buf = Buffer.alloc(512 * 1024);
        const result = await outcome(async () => {
          const { bytesRead } = await fh.read(buf, 0, buf.length, off);
          if (!buf.subarray(0, bytesRead).equals(data.subarray(off, off + bytesRead))) throw Object.assign(new Error('wrong bytes'), { code: 'WRONG_BYTES' });
        });
        seen.set(result, (seen.get(result) ?? 0) + 1);
        assert.ok(result === 'ok' || result === 'ESTALE', `read at ${off}: ${result}`);
      }
    } finally {
      await fh.close();
    }
    t.diagnostic(`reads after the unlink on A: ${JSON.stringify(Object.fromEntries(seen))}`);
    assert.ok((await readFile(join(B.mnt, 'doomed'))).equals(namedBytes('successor', data.length)), 'the new file under the name is intact');
  });

  test('status lists every mount with host, pid, mount point, version and last heartbeat', async () => {
    const sessions = await statusSessions(vol.metaUrl);
    for (const d of [A, B]) {
      const s = sessions.find((x) => x.info.pid === d.pid);
      assert.ok(s !== undefined, `a session of pid ${d.pid}`);
      assert.equal(s.info.mountPoint, d.mnt);
      assert.ok(s.alive && s.info.host !== '' && s.info.version !== '');
      assert.ok(Math.abs(Date.now() - s.heartbeat) < 30_000, 'last heartbeat is recent');
    }
  });
});

describe('sixty seconds of writers on two hosts while a third is killed', { concurrency: true }, () => {
  const writers = 3;
  const written: string[] = [];
  const fileSize = (w: number, n: number) => 1 + ((n * 7919 + w * 104729) % (96 * 1024));

  test(`writers on A and B in one directory for ${WRITE_SECONDS} s: every file complete, listings equal`, async (t) => {
    await mkdir(join(A.mnt, 'busy'));
    const deadline = Date.now() + WRITE_SECONDS * 1000;
    const loop = async (host: string, mnt: string, w: number) => {
      for (let n = 0; Date.now() < deadline; n++) {
        const name = `${host}-${w}-${n}`;
        const size = fileSize(w, n);
        const fh = await open(join(mnt, 'busy', name), 'wx');
        try {
          const data = namedBytes(name, size);
          for (let off = 0; off < size; off += 65536) await fh.write(data.subarray(off, off + 65536));
        } finally {
          await fh.close();
        }
        written.push(name);
        if (n % 5 === 0) await appendFile(join(mnt, 'busy', name), 'tail');
      }
    };
    await Promise.all(Array.from({ length: writers }, (_, w) => [loop('a', A.mnt, w), loop('b', B.mnt, w)]).flat());
    const listA = (await readdir(join(A.mnt, 'busy'))).sort();
    const listB = (await readdir(join(B.mnt, 'busy'))).sort();
    t.diagnostic(`${written.length} files written by ${2 * writers} writers on two hosts`);
    assert.deepEqual(listA, [...written].sort(), 'A lists every file written');
    assert.deepEqual(listB, listA, 'the listing is equal on both hosts');
    // Read every file on the other host, eight at a time.
    const queue = [...written];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let name = queue.pop(); name !== undefined; name = queue.pop()) {
        const [, w, n] = name.split('-').map(Number) as [number, number, number];
        const want = n % 5 === 0 ? Buffer.concat([namedBytes(name, fileSize(w, n)), Buffer.from('tail')]) : namedBytes(name, fileSize(w, n));
        const reader = name.startsWith('a') ? B.mnt : A.mnt;
        assert.ok((await readFile(join(reader, 'busy', name))).equals(want), `${name} complete on the other host`);
      }
    }));
  });

  test('a mount killed with kill -9 mid-write: closed files intact, others unaffected, its session cleaned', async (t) => {
    // A short session timeout: the cleaning below then comes in seconds, not a minute.
    const C = await bed.mount(bed.hosts[2]!, vol, 'c', ['--session-timeout', '10s']);
    await mkdir(join(C.mnt, 'killed'));
    for (let i = 0; i < 5; i++) await writeFile(join(C.mnt, 'killed', `closed-${i}`), namedBytes(`closed-${i}`, 300_000));
    const open_ = await open(join(C.mnt, 'killed', 'open'), 'w');
    await open_.write(namedBytes('open', 3 * 1024 * 1024)); // full blocks go to S3, never committed
    assert.ok((await statusSessions(vol.metaUrl)).some((s) => s.info.pid === C.pid), 'C has a session');
    const killedAt = Date.now();
    process.kill(C.pid, 'SIGKILL');
    await C.exited;
    await open_.close().catch(() => undefined); // the mount is gone: ENOTCONN
    for (let i = 0; i < 5; i++) {
      assert.ok((await readFile(join(A.mnt, 'killed', `closed-${i}`))).equals(namedBytes(`closed-${i}`, 300_000)), `closed-${i} intact on A`);
    }
    // What the killed mount committed of its unclosed file (buffer pressure may commit early) is
    // exactly what it wrote: never zeros or another file's bytes.
    const partial = await readFile(join(A.mnt, 'killed', 'open')).catch(() => Buffer.alloc(0));
    assert.ok(partial.equals(namedBytes('open', 3 * 1024 * 1024).subarray(0, partial.length)), `the ${partial.length} committed bytes of the unclosed file are what was written`);
    // The session expires 10 s after its last heartbeat; a live client removes it within its 10 s sweep.
    let cleanedAfter: number | undefined;
    while (Date.now() - killedAt < 60_000) {
      if (!(await statusSessions(vol.metaUrl)).some((s) => s.info.pid === C.pid)) {
        cleanedAfter = Date.now() - killedAt;
        break;
      }
      await sleep(1000);
    }
    assert.ok(cleanedAfter !== undefined, 'the dead session was cleaned within 60 s');
    t.diagnostic(`the killed mount's session was cleaned ${(cleanedAfter / 1000).toFixed(1)} s after kill -9`);
  });
});

describe('a clean unmount', () => {
  test('removes its own session', async () => {
    const sessions = await statusSessions(vol.metaUrl);
    assert.ok(sessions.some((s) => s.info.pid === B.pid));
    stopped.add(B.pid);
    process.kill(B.pid, 'SIGTERM');
    await B.exited;
    const after = await statusSessions(vol.metaUrl);
    assert.ok(!after.some((s) => s.info.pid === B.pid), 'B\'s session is gone');
    assert.ok(after.some((s) => s.info.pid === A.pid), 'A\'s session stays');
  });
});
