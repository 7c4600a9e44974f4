/**
 * Randomized comparison of a real ObjectFS mount (PostgreSQL + S3) with a local directory:
 * the same seeded sequence of operations (create, pwrite at random offsets including past EOF,
 * zero bytes and across 1 MiB block boundaries, append, truncate, rename of files and
 * directories, renameat2's NOREPLACE and EXCHANGE, link, symlink, unlink, mkdir, rmdir, chmod,
 * utime in ns, user.* xattrs, fallocate's five modes, copy_file_range, reads, stat, and
 * long-lived handles kept open across renames and unlinks) goes to one python3 helper
 * per side (test/support/e2e-fsops.py). After every step the results (value or errno name) must
 * be equal, and so must the affected paths' type, mode, link count, size, xattrs and (after
 * operations that write) content hash; every 250 steps and at the end the whole trees,
 * contents included, are compared.
 *
 * The mount uses --attr-timeout 0 --entry-timeout 0 (stated explicitly, whatever the defaults)
 * so the kernel caches neither attributes nor names and every answer comes from ObjectFS itself;
 * tools.test.ts and edge.test.ts run with the default settings.
 *
 *   OBJECTFS_E2E_OPS=<n>   number of operations (default 3000)
 *   OBJECTFS_SEED=<u32>    replay a run (the seed is printed as `seed=`)
 *   OBJECTFS_E2E_HISTORY=<file>  on a mismatch, write every step (request and both results) there
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, rm } from 'node:fs/promises';
import { writeFileSync } from 'node:fs';
import { startMount, type TestMount } from '../support/mounted.js';
import { FsOps, type FsOpResult } from '../support/e2e-fsops.js';
import { OpGenerator, poolOf, type PlannedOp, type Pool } from '../support/e2e-random.js';
import { localDir } from '../support/e2e-sh.js';
import { makeRng, testSeed } from '../support/prng.js';

const OPS = Number(process.env['OBJECTFS_E2E_OPS'] ?? 3000);
const SNAPSHOT_EVERY = 250;

let m: TestMount;
let local: string;
let sides: { local: FsOps; mount: FsOps } | undefined;

before(async () => {
  m = await startMount('random', { meta: 'postgres', data: 's3', args: ['--attr-timeout', '0', '--entry-timeout', '0'] });
  local = await localDir('random');
  await chmod(local, 0o755); // as the mount's root (mkdtemp makes 0700)
  sides = { local: new FsOps(local, true), mount: new FsOps(m.mnt) };
});

after(async () => {
  await sides?.local.close();
  await sides?.mount.close();
  await m?.cleanup();
  if (local) await rm(local, { recursive: true, force: true });
});

function show(r: FsOpResult): string {
  return JSON.stringify(r);
}

test(`${OPS} random operations give the same results and trees on the mount as on a local directory`, async (t) => {
  assert.ok(Number.isInteger(OPS) && OPS > 0, `OBJECTFS_E2E_OPS=${process.env['OBJECTFS_E2E_OPS']} is not a positive integer`);
  const seed = testSeed();
  console.log(`seed=${seed} ops=${OPS} (replay: OBJECTFS_SEED=${seed} OBJECTFS_E2E_OPS=${OPS})`);
  t.diagnostic(`seed=${seed}`);
  const { local: L, mount: M } = sides as { local: FsOps; mount: FsOps };
  const gen = new OpGenerator(makeRng(seed));
  const history: string[] = [];
  const counts = new Map<string, { ok: number; err: number }>();
  let current: Record<string, unknown> = {};
  const fail = (step: number, what: string): never => {
    // Earlier operations on the same handle or names, then the last 25.
    const keys = [...Object.entries(current)].filter(([k]) => ['h', 'path', 'to'].includes(k)).map(([k, v]) => `"${k === 'to' ? 'path' : k}":${JSON.stringify(v)}`);
    const keysTo = keys.map((k) => k.replace('"path"', '"to"'));
    const dump = process.env['OBJECTFS_E2E_HISTORY'];
    if (dump) writeFileSync(dump, `${history.join('\n')}\n`);
    const related = history.slice(0, -25).filter((line) => [...keys, ...keysTo].some((k) => line.includes(k)));
    const daemon = /--- daemon exited.*/.exec(m.log())?.[0] ?? 'daemon alive';
    assert.fail(`seed=${seed} step ${step}: ${what}\n(${daemon})\nearlier operations on the same names/handle:\n  ${related.join('\n  ')}\nlast operations:\n  ${history.slice(-25).join('\n  ')}`);
  };
  const compareTrees = async (step: number) => {
    const [l, r] = [await L.ok<Record<string, unknown>>({ op: 'snapshot' }), await M.ok<Record<string, unknown>>({ op: 'snapshot' })];
    try {
      assert.deepEqual(r, l);
    } catch (e) {
      fail(step, `whole-tree comparison:\n${(e as Error).message}`);
    }
    return Object.keys(l).length;
  };

  let pool: Pool = poolOf(await L.ok({ op: 'walk' }));
  const started = Date.now();
  for (let step = 1; step <= OPS; step++) {
    const planned: PlannedOp = gen.next(pool);
    const { req } = planned;
    current = req;
    const [lr, mr] = [await L.call(req), await M.call(req)];
    history.push(`${step}: ${JSON.stringify(req)} → local ${show(lr)}, mount ${show(mr)}`);
    const c = counts.get(req.op) ?? { ok: 0, err: 0 };
    c['err' in lr ? 'err' : 'ok']++;
    counts.set(req.op, c);
    // No exceptions: handles on hard-linked files and fstat after rmdir behave as on a local disk.
    if (show(mr) !== show(lr)) fail(step, `${req.op} returned ${show(mr)} on the mount, ${show(lr)} locally`);
    if (req.op === 'hopen' && 'ok' in lr) gen.handles.set(req['h'] as number, req['path'] as string);
    if (req.op === 'hclose') gen.handles.delete(req['h'] as number);
    if (planned.affected.length > 0) {
      const q = { op: 'state', paths: planned.affected, data: planned.data };
      const [ls, ms] = [await L.call(q), await M.call(q)];
      if (show(ms) !== show(ls)) fail(step, `after ${req.op}, the affected paths differ:\n  mount ${show(ms)}\n  local ${show(ls)}`);
    }
    if (planned.structural) pool = poolOf(await L.ok({ op: 'walk' }));
    if (step % SNAPSHOT_EVERY === 0) await compareTrees(step);
  }
  for (const h of [...gen.handles.keys()]) {
    const [lr, mr] = [await L.call({ op: 'hclose', h }), await M.call({ op: 'hclose', h })];
    assert.equal(show(mr), show(lr), `closing handle ${h}`);
  }
  const entries = await compareTrees(OPS);
  const summary = [...counts].sort().map(([op, c]) => `${op} ${c.ok}/${c.err}`).join(', ');
  console.log(`${OPS} ops in ${Date.now() - started} ms; final tree ${entries} entries; per op ok/err: ${summary}`);
  // The run must have exercised both outcomes of the interesting operations.
  for (const op of ['create', 'write', 'rename', 'unlink', 'mkdir', 'rmdir', 'link', 'setxattr']) {
    const c = counts.get(op);
    if (OPS >= 1000) assert.ok(c !== undefined && c.ok > 0 && c.err > 0, `${op}: ${JSON.stringify(c)} (want both successes and errors)`);
  }
});
