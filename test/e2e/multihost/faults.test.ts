/**
 * Faults under two hosts of one volume (separate mount processes in their own network
 * namespaces; loopback when namespaces are unavailable, and the output says which), with
 * PostgreSQL and s3rver private to this file so restarting them disturbs no other test:
 *
 *  - PostgreSQL restarted while both mounts are busy: operations wait and resume, nothing
 *    committed is lost, no mount dies, and change notification resumes;
 *  - the S3 server stopped for 30 s and started again: a mount with the default retry budget
 *    fails writes and uncached reads with EIO in bounded time, one with a larger budget
 *    (--io-retries) waits and succeeds; both work again afterwards without remounting.
 *
 * (A mount killed with kill -9 mid-write is exercised in consistency.test.ts, next to the
 * writers it must not disturb.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, type Daemon } from '../../support/e2e-daemon.js';
import { startMultiHostBed, type MultiHostBed, type TestVolume } from '../../support/multihost.js';
import { namedBytes, outcome, percentile } from './mh-helpers.js';

let bed: MultiHostBed;
let vol: TestVolume;
let A: Daemon;
let B: Daemon;
/** Daemons a test stopped on purpose. */
const stopped = new Set<number>();
const OUTAGE_MS = 30_000;

before(async () => {
  bed = await startMultiHostBed('faults', 2);
  process.stdout.write(`# ${bed.description}\n`);
  vol = await bed.newVolume('faults');
  const [hostA, hostB] = bed.hosts;
  [A, B] = await Promise.all([bed.mount(hostA!, vol, 'a'), bed.mount(hostB!, vol, 'b', ['--io-retries', '40'])]);
});

after(async () => {
  // A mount that died on its own is a failure to explain: show how it ended.
  for (const d of [A, B]) if (d !== undefined && !stopped.has(d.pid) && !alive(d.pid)) process.stdout.write(`# daemon ${d.pid} died; its log ends:\n${d.log().split('\n').slice(-40).map((l) => `#   ${l}`).join('\n')}\n`);
  await bed?.finish();
});

/** Median time until a name renamed on A disappears on B. */
async function renameLatency(dir: string, rounds: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    await writeFile(join(A.mnt, dir, `f${i}`), 'x');
    await stat(join(B.mnt, dir, `f${i}`));
    await rename(join(A.mnt, dir, `f${i}`), join(A.mnt, dir, `g${i}`));
    const start = performance.now();
    while ((await outcome(() => stat(join(B.mnt, dir, `f${i}`)))) !== 'ENOENT') await sleep(2);
    samples.push(performance.now() - start);
  }
  return percentile(samples.sort((a, b) => a - b), 50);
}

describe('faults with two hosts', () => {
  test('the bed says how the hosts are connected', (t) => {
    t.diagnostic(bed.description);
  });

  test('PostgreSQL restarted while both mounts are busy: operations wait and resume, nothing is lost', async (t) => {
    await mkdir(join(A.mnt, 'pg'));
    for (let i = 0; i < 5; i++) await writeFile(join(A.mnt, 'pg', `pre-${i}`), namedBytes(`pre-${i}`, 200_000));
    let busy = true;
    const written: string[] = [];
    let slowest = 0;
    const loop = async (host: string, mnt: string) => {
      for (let n = 0; busy; n++) {
        const name = `${host}-${n}`;
        const started = Date.now();
        await writeFile(join(mnt, 'pg', name), namedBytes(name, 50_000 + n));
        await stat(join(mnt, 'pg', name));
        await readdir(join(mnt, 'pg'));
        slowest = Math.max(slowest, Date.now() - started);
        written.push(name);
      }
    };
    const loops = Promise.all([loop('a', A.mnt), loop('b', B.mnt)]);
    await sleep(2_000);
    const beforeStop = written.length;
    await bed.pg.stop();
    await sleep(5_000);
    await bed.pg.start();
    await sleep(5_000);
    busy = false;
    await loops;
    t.diagnostic(`${written.length} files written across the restart (${beforeStop} before the stop); slowest write+stat+readdir ${slowest} ms`);
    assert.ok(written.length > beforeStop, 'work resumed after the restart');
    assert.ok(slowest < 60_000, 'operations waited a bounded time');
    assert.ok(alive(A.pid) && alive(B.pid), 'no mount died');
    for (let i = 0; i < 5; i++) assert.ok((await readFile(join(B.mnt, 'pg', `pre-${i}`))).equals(namedBytes(`pre-${i}`, 200_000)), `pre-${i} intact`);
    for (const name of written) {
      const n = Number(name.split('-')[1]);
      const other = name.startsWith('a') ? B.mnt : A.mnt;
      assert.ok((await readFile(join(other, 'pg', name))).equals(namedBytes(name, 50_000 + n)), `${name} complete on the other host`);
    }
    assert.deepEqual((await readdir(join(A.mnt, 'pg'))).sort(), (await readdir(join(B.mnt, 'pg'))).sort());
    await mkdir(join(A.mnt, 'pg-lat'));
    const median = await renameLatency('pg-lat', 5);
    t.diagnostic(`notification latency after the restart: median ${median.toFixed(1)} ms`);
    assert.ok(median < 250, 'change notification resumed after the restart');
  });

  test('S3 stopped for 30 s: EIO within the retry budget, or waits with a larger one; both mounts recover', async (t) => {
    await mkdir(join(A.mnt, 's3'));
    const size = 1_500_000;
    await writeFile(join(B.mnt, 's3', 'cold-for-a'), namedBytes('cold-for-a', size)); // never read by A: not in its cache
    await writeFile(join(A.mnt, 's3', 'cold-for-b'), namedBytes('cold-for-b', size));
    await bed.s3.kill();
    const stoppedAt = Date.now();
    const timed = async (op: () => Promise<unknown>) => {
      const result = await outcome(op);
      return { result, ms: Date.now() - stoppedAt };
    };
    const aWrite = timed(() => writeFile(join(A.mnt, 's3', 'a-during'), namedBytes('a-during', size)));
    const aRead = timed(() => readFile(join(A.mnt, 's3', 'cold-for-a')));
    const bWrite = timed(() => writeFile(join(B.mnt, 's3', 'b-during'), namedBytes('b-during', size)));
    const bRead = timed(async () => {
      if (!(await readFile(join(B.mnt, 's3', 'cold-for-a'))).equals(namedBytes('cold-for-a', size))) throw new Error('wrong bytes');
      if (!(await readFile(join(B.mnt, 's3', 'cold-for-b'))).equals(namedBytes('cold-for-b', size))) throw new Error('wrong bytes');
    });
    const [aw, ar] = await Promise.all([aWrite, aRead]);
    t.diagnostic(`default budget on A: write+close ${aw.result} after ${aw.ms} ms, uncached read ${ar.result} after ${ar.ms} ms`);
    assert.equal(aw.result, 'EIO', 'A\'s write fails with EIO once its retries are spent');
    assert.equal(ar.result, 'EIO', 'A\'s uncached read fails with EIO once its retries are spent');
    assert.ok(aw.ms < OUTAGE_MS && ar.ms < OUTAGE_MS, 'within the retry budget, before S3 is back');
    await sleep(Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt)));
    await bed.s3.start();
    const [bw, br] = await Promise.all([bWrite, bRead]);
    t.diagnostic(`--io-retries 40 on B: write+close ${bw.result} after ${bw.ms} ms, read ${br.result} after ${br.ms} ms (S3 back after ${OUTAGE_MS} ms)`);
    assert.equal(bw.result, 'ok', 'B\'s write waited for S3 and succeeded');
    assert.equal(br.result, 'ok', 'B\'s reads waited for S3 and succeeded');
    assert.ok(alive(A.pid) && alive(B.pid), 'no mount died');
    // Both recover without a remount: A writes again (also the file whose close failed) and reads.
    await writeFile(join(A.mnt, 's3', 'a-after'), namedBytes('a-after', size));
    await writeFile(join(A.mnt, 's3', 'a-during'), namedBytes('a-during-2', size));
    assert.ok((await readFile(join(A.mnt, 's3', 'cold-for-a'))).equals(namedBytes('cold-for-a', size)), 'A reads the cold file now');
    assert.ok((await readFile(join(B.mnt, 's3', 'a-after'))).equals(namedBytes('a-after', size)), 'B reads what A wrote after the outage');
    assert.ok((await readFile(join(B.mnt, 's3', 'a-during'))).equals(namedBytes('a-during-2', size)), 'the file whose close failed is written anew');
    assert.ok((await readFile(join(A.mnt, 's3', 'b-during'))).equals(namedBytes('b-during', size)), 'A reads what B wrote during the outage');
  });
});
