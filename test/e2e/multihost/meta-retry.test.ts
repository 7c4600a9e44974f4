/**
 * `--meta-retry-timeout` through a real mount (issue 16, item 7), with a PostgreSQL server
 * private to this file (the multi-host bed, one host): with a 3 s budget, stat and mkdir on the
 * mount fail with EIO about 3 s after PostgreSQL went away, not before; a mkdir whose database
 * comes back within the budget succeeds; the mount keeps working afterwards.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { alive, type Daemon } from '../../support/e2e-daemon.js';
import { startMultiHostBed, type MultiHostBed } from '../../support/multihost.js';
import { outcome } from './mh-helpers.js';

const BUDGET_S = 3;
let bed: MultiHostBed;
let A: Daemon;

before(async () => {
  bed = await startMultiHostBed('metaretry', 1);
  process.stdout.write(`# ${bed.description}\n`);
  const vol = await bed.newVolume('metaretry');
  // No kernel caches: the stat below must reach the daemon however soon after the mkdir it runs.
  A = await bed.mount(bed.hosts[0]!, vol, 'a', ['--meta-retry-timeout', String(BUDGET_S), '--attr-timeout', '0', '--entry-timeout', '0']);
  await mkdir(join(A.mnt, 'd'));
});

after(async () => {
  await bed?.finish();
});

/** The outcome of `op` (ok or an errno name) and how long it took. */
async function timed(op: () => Promise<unknown>): Promise<{ result: string; ms: number }> {
  const started = Date.now();
  const result = await outcome(op);
  return { result, ms: Date.now() - started };
}

describe('--meta-retry-timeout on a mount', () => {
  test('stat and mkdir fail with EIO after about the budget while PostgreSQL is down', async (t) => {
    await bed.pg.stop();
    try {
      const [st, mk] = await Promise.all([timed(() => stat(join(A.mnt, 'd'))), timed(() => mkdir(join(A.mnt, 'd', 'new')))]);
      t.diagnostic(`budget ${BUDGET_S} s: stat ${st.result} after ${st.ms} ms, mkdir ${mk.result} after ${mk.ms} ms`);
      for (const [name, r] of [['stat', st], ['mkdir', mk]] as const) {
        assert.equal(r.result, 'EIO', `${name} fails with EIO`);
        assert.ok(r.ms >= BUDGET_S * 1000 - 100 && r.ms < BUDGET_S * 1000 + 3000, `${name} failed after ${r.ms} ms`);
      }
    } finally {
      await bed.pg.start();
    }
    assert.ok(alive(A.pid), 'the mount lives');
    assert.equal((await stat(join(A.mnt, 'd'))).isDirectory(), true, 'and works once the database is back');
  });

  test('a mkdir during an outage shorter than the budget succeeds', async (t) => {
    await bed.pg.stop();
    let restarted = false;
    try {
      const mk = timed(() => mkdir(join(A.mnt, 'd', 'during')));
      await sleep(BUDGET_S * 1000 / 2);
      await bed.pg.start();
      restarted = true;
      const r = await mk;
      t.diagnostic(`mkdir across a ${BUDGET_S * 500} ms outage: ${r.result} after ${r.ms} ms`);
      assert.equal(r.result, 'ok');
    } finally {
      if (!restarted) await bed.pg.start();
    }
    assert.equal((await stat(join(A.mnt, 'd', 'during'))).isDirectory(), true);
  });
});
