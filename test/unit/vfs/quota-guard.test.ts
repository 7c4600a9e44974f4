/**
 * QuotaGuard's bookkeeping (pure logic over a fake source of quota figures): growth counted
 * since the snapshot, refusals confirmed against fresh figures, uncommitted growth counted
 * again after a snapshot, the slack forcing a commit and a new snapshot, files created here
 * taking their trees from their directory.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FsError } from '../../../src/errors.js';
import type { QuotaSnapshot } from '../../../src/meta/index.js';
import { QuotaGuard } from '../../../src/vfs/quota-guard.js';

const DIR = 7;

class Figures {
  used = 0;
  capacity = 0;
  dirMax = 1000;
  snapshots = 0;
  dirsOf = 0;
  dirsAbove = 0;
  quotaSnapshot = async (): Promise<QuotaSnapshot> => {
    this.snapshots++;
    return { capacity: this.capacity, usedSpace: this.used, dirs: new Map([[DIR, { maxSpace: this.dirMax, usedSpace: this.used }]]) };
  };
  quotaDirsOf = async (): Promise<number[]> => { this.dirsOf++; return [DIR]; };
  quotaDirsAbove = async (): Promise<number[]> => { this.dirsAbove++; return [DIR]; };
}

function guard(f: Figures, opts: { uncommitted?: Map<number, number>; slack?: number; clock?: { t: number } } = {}) {
  const commits = { n: 0 };
  const clock = opts.clock ?? { t: 10_000 };
  const g = new QuotaGuard(f, {
    uncommitted: () => (opts.uncommitted ?? new Map()).entries(),
    commit: async () => { commits.n++; opts.uncommitted?.clear(); },
  }, { slackBytes: opts.slack, now: () => clock.t });
  return { g, commits, clock };
}

const isCode = (code: string) => (e: unknown) => e instanceof FsError && e.code === code;

describe('QuotaGuard', () => {
  test('admits up to the limit from one snapshot, then refuses EDQUOT after confirming with a fresh one', async () => {
    const f = new Figures();
    const { g } = guard(f);
    await g.admit(1, 600);
    await g.admit(1, 400);
    assert.equal(f.snapshots, 1, 'one snapshot for writes in one second');
    assert.equal(f.dirsOf, 1, 'the trees of a file are read once');
    f.used = 1000; // committed meanwhile
    await assert.rejects(g.admit(1, 1), isCode('EDQUOT'));
    assert.equal(f.snapshots, 2, 'the refusal was confirmed against figures read after the write came');
  });

  test('room freed elsewhere is seen by the confirming snapshot', async () => {
    const f = new Figures();
    const { g } = guard(f);
    await g.admit(1, 1000);
    f.used = 400; // committed, then 600 removed by another host
    await g.admit(1, 500);
    assert.equal(f.snapshots, 2, 'the would-be refusal read fresh figures');
    f.used = 900;
    await assert.rejects(g.admit(1, 200), isCode('EDQUOT'));
  });

  test('the volume capacity is ENOSPC', async () => {
    const f = new Figures();
    f.capacity = 100;
    f.dirMax = 10_000;
    const { g } = guard(f);
    await g.admit(1, 100);
    f.used = 100;
    await assert.rejects(g.admit(1, 1), isCode('ENOSPC'));
  });

  test('growth still uncommitted at a snapshot is counted again', async () => {
    const f = new Figures();
    const uncommitted = new Map<number, number>();
    const { g, clock } = guard(f, { uncommitted });
    await g.admit(1, 800);
    uncommitted.set(1, 800); // written here, not committed: the database still says 0
    clock.t += 2000; // stale and quiet: the next admit waits for a new snapshot
    await assert.rejects(g.admit(1, 300), isCode('EDQUOT'));
    await g.admit(1, 200);
  });

  test('the slack: past it, pending writes are committed and a new snapshot read before more is admitted', async () => {
    const f = new Figures();
    f.dirMax = 1_000_000;
    const uncommitted = new Map<number, number>([[1, 0]]);
    const { g, commits } = guard(f, { uncommitted, slack: 100 });
    await g.admit(1, 60);
    await g.admit(1, 30);
    assert.equal(commits.n, 0);
    await g.admit(1, 20);
    assert.equal(commits.n, 1, 'committed once the slack was used');
    assert.equal(f.snapshots, 2);
  });

  test('a file created here takes its trees from its directory, read once per directory and snapshot', async () => {
    const f = new Figures();
    const { g } = guard(f);
    for (let ino = 10; ino < 20; ino++) {
      g.created(ino, 3);
      await g.admit(ino, 1);
    }
    assert.deepEqual([f.dirsAbove, f.dirsOf], [1, 0]);
  });

  test('a volume without limits: a write after a quiet second does not wait for figures (they come in the background)', async () => {
    const f = new Figures();
    f.dirMax = 0;
    let hold: (() => void) | undefined;
    const limitless: QuotaSnapshot = { capacity: 0, usedSpace: 0, dirs: new Map() };
    const source = {
      ...f,
      quotaSnapshot: () => {
        f.snapshots++;
        // The second snapshot is held: an admit that waited for it would never end.
        return f.snapshots === 1 ? Promise.resolve(limitless) : new Promise<QuotaSnapshot>((resolve) => { hold = () => resolve(limitless); });
      },
    };
    const clock = { t: 10_000 };
    const g = new QuotaGuard(source, { uncommitted: () => new Map<number, number>().entries(), commit: async () => undefined }, { now: () => clock.t });
    await g.admit(1, 100);
    assert.equal(f.snapshots, 1, 'the first write reads the figures once');
    clock.t += 5000; // stale and quiet
    await g.admit(1, 100);
    assert.equal(f.snapshots, 2, 'a refresh was started in the background');
    assert.ok(hold !== undefined);
    hold();
  });

  test('shrinking or rewriting is not growth: nothing is asked', async () => {
    const f = new Figures();
    const { g } = guard(f);
    await g.admit(1, 0);
    await g.admit(1, -50);
    assert.equal(f.snapshots, 0);
  });
});
