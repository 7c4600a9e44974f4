/** The pure POSIX rules of src/vfs/access.ts, case by case (Linux is the reference). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import type { Attr } from '../../../src/meta/index.js';
import { FsError } from '../../../src/errors.js';
import { checkAccess, checkRemove, checkSetattr, createMode, withoutPrivileges, type Caller } from '../../../src/vfs/access.js';

const { R_OK, W_OK, X_OK } = constants;
const ROOT: Caller = { uid: 0, gid: 0 };
const ALICE: Caller = { uid: 1000, gid: 1000 };
const BOB: Caller = { uid: 1001, gid: 1001 };

function node(mode: number, uid = 1000, gid = 1000, type: Attr['type'] = 'file'): Attr {
  return { ino: 9, type, mode, uid, gid, nlink: 1, length: 0, rdev: 0, atime: 0n, mtime: 0n, ctime: 0n, parent: 1 };
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof FsError ? err.code : String(err);
  }
}

test('access: owner, then group (supplementary ones too), then others; root reads anything and searches any directory', () => {
  assert.equal(code(() => checkAccess(ALICE, node(0o600), R_OK | W_OK)), undefined);
  assert.equal(code(() => checkAccess(BOB, node(0o604), R_OK)), undefined, 'others');
  assert.equal(code(() => checkAccess(BOB, node(0o640), R_OK)), 'EACCES');
  assert.equal(code(() => checkAccess({ ...BOB, groups: [1000] }, node(0o640), R_OK)), undefined, 'a supplementary group');
  assert.equal(code(() => checkAccess(ALICE, node(0o077), R_OK)), 'EACCES', 'the owner class decides, even if others may');
  assert.equal(code(() => checkAccess(ROOT, node(0o000), R_OK | W_OK)), undefined);
  assert.equal(code(() => checkAccess(ROOT, node(0o644), X_OK)), 'EACCES', 'root executes only what someone may');
  assert.equal(code(() => checkAccess(ROOT, node(0o000, 1000, 1000, 'directory'), X_OK)), undefined);
});

test('sticky directories: only the owner of the entry or of the directory, or root', () => {
  const tmp = node(0o1777, 0, 0, 'directory');
  assert.equal(code(() => checkRemove(BOB, tmp, node(0o666))), 'EPERM');
  assert.equal(code(() => checkRemove(ALICE, tmp, node(0o666))), undefined);
  assert.equal(code(() => checkRemove(BOB, node(0o1777, 1001, 1001, 'directory'), node(0o666))), undefined);
  assert.equal(code(() => checkRemove(BOB, node(0o777, 0, 0, 'directory'), node(0o666))), undefined, 'not sticky');
  assert.equal(code(() => checkRemove(BOB, node(0o755, 0, 0, 'directory'), node(0o666))), 'EACCES');
});

test('setattr: owner-only chmod and times, root-only chown, setgid and setuid clearing', () => {
  assert.equal(code(() => checkSetattr(BOB, node(0o644), { mode: 0o600 })), 'EPERM');
  assert.equal(checkSetattr(ALICE, node(0o644, 1000, 4242), { mode: 0o2755 }).mode, 0o755, 'not in the group: setgid dropped');
  assert.equal(checkSetattr(ALICE, node(0o644), { mode: 0o2755 }).mode, 0o2755);
  assert.equal(code(() => checkSetattr(ALICE, node(0o644), { uid: 1001 })), 'EPERM');
  assert.equal(code(() => checkSetattr(ALICE, node(0o644), { gid: 4242 })), 'EPERM');
  assert.equal(checkSetattr(ROOT, node(0o4755), { uid: 1001 }).mode, 0o755, 'chown clears setuid, even by root');
  assert.equal(checkSetattr(ROOT, node(0o4755), { uid: 1001, mode: 0o4755 }).mode, 0o4755, 'unless the mode is set too');
  assert.equal(checkSetattr(ALICE, node(0o6755), { length: 0 }).mode, 0o755, 'truncate by a user clears both');
  assert.equal(checkSetattr(ROOT, node(0o6755), { length: 0 }).mode, undefined, 'root truncates without clearing');
  assert.equal(code(() => checkSetattr(BOB, node(0o666), { mtime: 5n })), 'EPERM', 'explicit times: owner only');
  assert.equal(code(() => checkSetattr(BOB, node(0o666), { mtime: 'now' })), undefined, '"now": anyone who may write');
  assert.equal(code(() => checkSetattr(BOB, node(0o644), { mtime: 'now' })), 'EACCES');
});

test('create mode and privilege clearing', () => {
  const sgidDir = node(0o2775, 0, 4242, 'directory');
  assert.equal(createMode(ALICE, sgidDir, false, 0o2755), 0o755);
  assert.equal(createMode({ ...ALICE, groups: [4242] }, sgidDir, false, 0o2755), 0o2755);
  assert.equal(createMode(ALICE, sgidDir, true, 0o2755), 0o2755, 'directories keep it');
  assert.equal(createMode(ALICE, sgidDir, false, 0o2644), 0o2644, 'setgid without group execute is not privilege');
  assert.equal(withoutPrivileges(0o4755), 0o755);
  assert.equal(withoutPrivileges(0o2755), 0o755);
  assert.equal(withoutPrivileges(0o2705), undefined, 'setgid without group execute stays');
  assert.equal(withoutPrivileges(0o755), undefined);
});
