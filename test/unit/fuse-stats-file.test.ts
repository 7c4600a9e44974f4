/** The `.stats` decorator over an operation table (pure callback logic; no FUSE needed). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:os';
import { STATS_PATH, withStatsFile } from '../../src/fuse/stats-file.js';

type Cb = (code: number, value?: unknown) => void;

function call<T>(ops: Record<string, unknown>, name: string, ...args: unknown[]): Promise<{ code: number; value?: T }> {
  return new Promise((resolve) => (ops[name] as (...a: unknown[]) => void)(...args, (code: number, value?: T) => resolve({ code, value })));
}

test('the stats file is served from snapshots; everything else passes through', async () => {
  const seen: string[] = [];
  const inner: Record<string, unknown> = {
    getattr: (path: string, cb: Cb) => { seen.push(`getattr ${path}`); cb(0, { size: 1 }); },
    unlink: (path: string, cb: Cb) => { seen.push(`unlink ${path}`); cb(0); },
    read: (_p: string, fd: number, _b: Buffer, _l: number, _pos: number, cb: (n: number) => void) => { seen.push(`read ${fd}`); cb(0); },
    rename: (src: string, dst: string, cb: Cb) => { seen.push(`rename ${src} ${dst}`); cb(0); },
  };
  let n = 0;
  const ops = withStatsFile(inner, async () => `metric ${++n}\n`);
  const st = await call<{ size: number; mode: number }>(ops, 'getattr', STATS_PATH);
  assert.equal(st.code, 0);
  assert.equal(st.value?.size, 'metric 1\n'.length);
  assert.equal((st.value?.mode ?? 0) & 0o777, 0o444);
  const opened = await call<number>(ops, 'open', STATS_PATH, 0);
  assert.equal(opened.code, 0);
  const fh = opened.value as number;
  const buf = Buffer.alloc(100);
  const got = await new Promise<number>((resolve) => (ops['read'] as (...a: unknown[]) => void)(STATS_PATH, fh, buf, 100, 0, resolve));
  assert.equal(buf.subarray(0, got).toString(), 'metric 1\n', 'the open serves the text whose size getattr reported');
  assert.equal((await call(ops, 'open', STATS_PATH, 1)).code, -constants.errno.EACCES);
  assert.equal((await call(ops, 'unlink', STATS_PATH)).code, -constants.errno.EPERM);
  assert.equal((await call(ops, 'rename', '/a', STATS_PATH)).code, -constants.errno.EPERM);
  assert.equal((await call(ops, 'release', STATS_PATH, fh)).code, 0);
  await call(ops, 'getattr', '/x');
  await call(ops, 'unlink', '/x');
  await new Promise<number>((resolve) => (ops['read'] as (...a: unknown[]) => void)('/x', 7, buf, 1, 0, resolve));
  assert.deepEqual(seen, ['getattr /x', 'unlink /x', 'read 7']);
});
