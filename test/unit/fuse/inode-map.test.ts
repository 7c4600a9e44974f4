/**
 * Sub-directory mounts in the FUSE layer (pure, no mount): node id 1 is the sub-directory,
 * the sub-directory is node id 1 in every reply, the volume's root never reaches the kernel,
 * `..` of the root is the root, and a listing of the root names no parent. The operations run
 * over a fake vfs and a fake binding that records the replies.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FUSE_ROOT_ID, InodeMap } from '../../../src/fuse/inode-map.js';
import { buildOps } from '../../../src/fuse/ops.js';
import { DirStreams } from '../../../src/fuse/dir-streams.js';
import { KernelAttrs } from '../../../src/fuse/kernel-attrs.js';
import { LookupCounts } from '../../../src/fuse/lookup-counts.js';
import { RecentDirAttrs } from '../../../src/fuse/dir-attrs.js';
import { ReadFences } from '../../../src/fuse/read-fences.js';
import { StatsFile, STATS_INO } from '../../../src/fuse/stats-file.js';
import { DIRENT_LEN, Op, type Binding, type NativeReq, type OpCode, type Request } from '../../../src/fuse/native.js';
import { FsError } from '../../../src/errors.js';
import { ROOT_INO, type Attr, type Vfs } from '../../../src/vfs/index.js';

const SUB = 42;
const FILE = 43;
const CHILD_DIR = 44;

function attr(ino: number, type: Attr['type'], parent: number): Attr {
  return { ino, type, mode: 0o755, uid: 0, gid: 0, nlink: 2, length: 0, rdev: 0, atime: 0n, mtime: 0n, ctime: 0n, parent };
}

/** The volume: / → a (17) → b (SUB) → f (FILE), d (CHILD_DIR). */
const NODES = new Map<number, Attr>([
  [ROOT_INO, attr(ROOT_INO, 'directory', ROOT_INO)], [17, attr(17, 'directory', ROOT_INO)], [SUB, attr(SUB, 'directory', 17)],
  [FILE, attr(FILE, 'file', SUB)], [CHILD_DIR, attr(CHILD_DIR, 'directory', SUB)],
]);
const NAMES = new Map<number, Map<string, number>>([[SUB, new Map([['f', FILE], ['d', CHILD_DIR]])]]);

interface Calls { lookups: string[]; getattrs: number[]; renames: string[] }

/** Only what the tested operations use; lookup answers `..` with the real parent, as the vfs does. */
function fakeVfs(calls: Calls): Vfs {
  const get = (ino: number) => {
    const a = NODES.get(ino);
    if (a === undefined) throw FsError.ENOENT(`no inode ${ino}`);
    return a;
  };
  const fake = {
    async lookup(_caller: unknown, parent: number, name: Buffer) {
      calls.lookups.push(`${parent}/${name.toString()}`);
      if (name.toString() === '.') return get(parent);
      if (name.toString() === '..') return get(get(parent).parent);
      if (name.toString() === 'escape') return get(ROOT_INO); // what no vfs answer should reach the kernel as
      const ino = NAMES.get(parent)?.get(name.toString());
      if (ino === undefined) throw FsError.ENOENT('no such name');
      return get(ino);
    },
    async getattr(ino: number) {
      calls.getattrs.push(ino);
      return get(ino);
    },
    async rename(_caller: unknown, from: number, name: Buffer, to: number, name2: Buffer) {
      calls.renames.push(`${from}/${name.toString()} → ${to}/${name2.toString()}`);
    },
    async setLock() { /* granted */ },
    async readdirPage(ino: number) {
      const names = [...(NAMES.get(ino) ?? new Map<string, number>()).entries()].sort();
      return { entries: names.map(([name, i]) => ({ name: Buffer.from(name), ino: i, type: get(i).type, attr: get(i) })) };
    },
    withLocalWrites: (a: Attr) => a,
  };
  return fake as unknown as Vfs;
}

interface Reply { kind: string; values: Float64Array | undefined; extra?: unknown }

function fakeBinding(replies: Reply[]): Binding {
  const b = {
    replyEntry: (_r: NativeReq, e: Float64Array) => { replies.push({ kind: 'entry', values: e }); return 0; },
    replyAttr: (_r: NativeReq, a: Float64Array) => { replies.push({ kind: 'attr', values: a }); return 0; },
    replyErr: (_r: NativeReq, errno: number) => { replies.push({ kind: 'err', values: undefined, extra: errno }); return 0; },
    replyErrAfterInval: (_r: NativeReq, errno: number, ino: number) => { replies.push({ kind: 'errAfterInval', values: undefined, extra: [errno, ino] }); return 0; },
    replyOpen: (_r: NativeReq, fh: number) => { replies.push({ kind: 'open', values: undefined, extra: fh }); return 0; },
    replyDirectory: (_r: NativeReq, _size: number, _plus: number, names: readonly Buffer[], dirents: Float64Array) => {
      replies.push({ kind: 'dir', values: dirents, extra: names.map((n) => n.toString()) });
      return names.length;
    },
  };
  return b as unknown as Binding;
}

function setup(root: number) {
  const calls: Calls = { lookups: [], getattrs: [], renames: [] };
  const replies: Reply[] = [];
  const vfs = fakeVfs(calls);
  const counts = new LookupCounts();
  const ops = buildOps({
    vfs, counts, dirs: new DirStreams((ino, after, limit) => vfs.readdirPage(ino, after, limit)),
    timeouts: { attr: 1, entry: 1, negative: 0 }, stats: new StatsFile(async () => 'metrics'), fences: new ReadFences(), inodes: new InodeMap(root),
    recentDirs: new RecentDirAttrs(0), kernelAttrs: new KernelAttrs(),
  });
  const b = fakeBinding(replies);
  const run = async (op: OpCode, fields: Partial<Request>) => {
    const r = { op, req: {} as NativeReq, ino: 0, uid: 0, gid: 0, pid: 1, ...fields } as Request;
    await ops[op]?.(r, b);
    return replies[replies.length - 1];
  };
  return { calls, counts, run };
}

describe('InodeMap', () => {
  test('the whole volume: node ids are inode numbers, and the handlers are not wrapped', () => {
    const m = new InodeMap();
    assert.equal(m.identity, true);
    assert.equal(m.toVolume(1), 1);
    assert.equal(m.toKernel(1), 1);
    assert.equal(m.toKernel(7), 7);
    const handlers = { [Op.GETATTR]: () => undefined };
    assert.equal(m.translate(handlers), handlers);
  });

  test('a sub-directory: node id 1 is it, it is node id 1, the volume root has no node id', () => {
    const m = new InodeMap(SUB);
    assert.equal(m.identity, false);
    assert.equal(m.toVolume(FUSE_ROOT_ID), SUB);
    assert.equal(m.toVolume(FILE), FILE);
    assert.equal(m.toKernel(SUB), FUSE_ROOT_ID);
    assert.equal(m.toKernel(FILE), FILE);
    assert.equal(m.toKernel(ROOT_INO), undefined);
    assert.throws(() => m.nodeOf(ROOT_INO), (e: unknown) => e instanceof FsError && e.code === 'EACCES');
  });
});

describe('the operations of a sub-directory mount', () => {
  test('lookups and getattr of node id 1 go to the sub-directory; its entry is node id 1, st_ino its own number', async () => {
    const { calls, counts, run } = setup(SUB);
    const f = await run(Op.LOOKUP, { ino: 1, name: Buffer.from('f') });
    assert.deepEqual(calls.lookups, [`${SUB}/f`]);
    assert.equal(f?.values?.[0], FILE, 'node id');
    const a = await run(Op.GETATTR, { ino: 1, fh: -1 });
    assert.deepEqual(calls.getattrs, [SUB]);
    assert.equal(a?.values?.[0], SUB, 'st_ino of the root is the directory\'s own');
    // `..` of a directory inside names the sub-directory: node id 1, never a second node.
    const up = await run(Op.LOOKUP, { ino: CHILD_DIR, name: Buffer.from('..') });
    assert.equal(up?.values?.[0], FUSE_ROOT_ID);
    assert.equal(up?.values?.[4], SUB);
    assert.ok(counts.has(SUB) && counts.has(FILE));
  });

  test('`..` of the root is the root, not its real parent; the volume root is never handed out', async () => {
    const { calls, run } = setup(SUB);
    const up = await run(Op.LOOKUP, { ino: 1, name: Buffer.from('..') });
    assert.deepEqual(calls.lookups, [`${SUB}/.`]);
    assert.equal(up?.values?.[0], FUSE_ROOT_ID);
    assert.equal(up?.values?.[4], SUB);
    await assert.rejects(run(Op.LOOKUP, { ino: 1, name: Buffer.from('escape') }), (e: unknown) => e instanceof FsError && e.code === 'EACCES');
  });

  test('a listing of the root: . and .. are the root itself (no node id), then the names', async () => {
    const { run } = setup(SUB);
    const open = await run(Op.OPENDIR, { ino: 1 });
    const list = await run(Op.READDIR, { ino: 1, fh: open?.extra as number, off: 0, size: 4096, plus: 1 });
    assert.deepEqual(list?.extra, ['.', '..', 'd', 'f']);
    const d = list?.values as Float64Array;
    const nodeid = (i: number) => d[i * DIRENT_LEN + 1];
    const ino = (i: number) => d[i * DIRENT_LEN + 1 + 4];
    assert.deepEqual([nodeid(0), nodeid(1), ino(0), ino(1)], [0, 0, SUB, SUB], 'no parent named');
    assert.deepEqual([nodeid(2), nodeid(3)], [CHILD_DIR, FILE]);
  });

  test('rename between node ids goes between inodes; a lock grant invalidates node id 1; .stats is at the mount root', async () => {
    const { calls, run } = setup(SUB);
    await run(Op.RENAME, { ino: 1, name: Buffer.from('f'), ino2: CHILD_DIR, name2: Buffer.from('g'), flags: 0 });
    assert.deepEqual(calls.renames, [`${SUB}/f → ${CHILD_DIR}/g`]);
    const lock = await run(Op.SETLK, { ino: 1, fh: 1, lockType: 1, off: 0, length: 0, owner: 1n, flock: 1, wait: 0 });
    assert.deepEqual(lock?.extra, [0, FUSE_ROOT_ID]);
    const stats = await run(Op.LOOKUP, { ino: 1, name: Buffer.from('.stats') });
    assert.equal(stats?.values?.[0], STATS_INO);
    await assert.rejects(run(Op.UNLINK, { ino: 1, name: Buffer.from('.stats') }), (e: unknown) => e instanceof FsError && e.code === 'EPERM');
  });

  test('the whole volume: node id 1 is the volume root, as before', async () => {
    const { calls, run } = setup(ROOT_INO);
    await run(Op.GETATTR, { ino: 1, fh: -1 });
    assert.deepEqual(calls.getattrs, [ROOT_INO]);
  });
});
