/**
 * Conformance: file locks in the database (setLock, testLock, releaseLocks) on every engine:
 * conflicts by range, type and kind, POSIX split/merge/upgrade/downgrade, and, where two engines
 * can share a database (PostgreSQL), locks held across sessions and dropped with a dead one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOCK_EOF, type LockRequest, type MetaEngine } from '../../../src/meta/index.js';
import { CALLER, b } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

const INFO = { host: 'lock-host', pid: 1, mountPoint: '/m', version: '0.1.0' };
const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

function req(ino: number, owner: bigint, type: LockRequest['type'], lo = 0, hi = LOCK_EOF, kind: LockRequest['kind'] = 'posix'): LockRequest {
  return { ino, owner, kind, type, lo, hi, pid: Number(owner) };
}

async function fileOn(m: MetaEngine, name: string): Promise<number> {
  const d = await m.mkdir(CALLER, 1, b(`locks-${name}-${Date.now()}`), 0o755);
  return (await m.mknod(CALLER, d.ino, b('f'), 'file', 0o644)).ino;
}

export function lockTests(ctx: SuiteContext): void {
  describe('file locks', () => {
    it('POSIX ranges: conflicts by range and type, split on partial unlock, upgrade and downgrade, release of an owner', async (t) => {
      const vol = await ctx.ownVolume(t, 'locks-posix');
      const m = vol.engine;
      await m.registerSession(INFO);
      const ino = await fileOn(m, 'posix');
      assert.equal((await m.setLock({ ...req(ino, 1n, 'write', 0, 100), holdsNone: true })).conflict, undefined, 'a first lock: the one-statement grant');
      const refused = await m.setLock({ ...req(ino, 2n, 'read', 50, 60), holdsNone: true });
      assert.deepEqual(refused.conflict && { type: refused.conflict.type, lo: refused.conflict.lo, hi: refused.conflict.hi, owner: refused.conflict.owner }, { type: 'write', lo: 0, hi: 100, owner: 1n });
      assert.equal((await m.setLock(req(ino, 2n, 'write', 100, 200))).conflict, undefined, 'touching ranges do not conflict');
      // Owner 1 unlocks the middle: [0,40) and [60,100) stay, [40,60) is free.
      assert.equal((await m.setLock(req(ino, 1n, undefined, 40, 60))).released, true);
      assert.equal((await m.setLock(req(ino, 2n, 'write', 40, 60))).conflict, undefined, 'the unlocked middle is free');
      assert.equal((await m.testLock({ ...req(ino, 2n, 'read', 0, 10), type: 'read' }))?.hi, 40, 'the left part is still held');
      assert.equal((await m.testLock({ ...req(ino, 2n, 'read', 90, 95), type: 'read' }))?.lo, 60, 'the right part is still held');
      // Downgrade [60,100) to read: a reader may share it, a writer may not; the downgrade releases.
      assert.equal((await m.setLock(req(ino, 1n, 'read', 60, 100))).released, true);
      assert.equal((await m.setLock(req(ino, 3n, 'read', 70, 80))).conflict, undefined, 'read locks share');
      assert.equal((await m.setLock(req(ino, 1n, 'write', 60, 100))).conflict?.owner, 3n, 'an upgrade waits for the other reader');
      assert.equal(await m.releaseLocks(ino, 3n, 'posix'), true);
      assert.equal((await m.setLock(req(ino, 1n, 'write', 60, 100))).conflict, undefined, 'the upgrade goes through once the reader left');
      assert.equal((await m.setLock(req(ino, 1n, 'write', 60, 100))).released, false, 'taking what one holds releases nothing');
      assert.equal(await m.releaseLocks(ino, 1n, 'posix'), true);
      assert.equal(await m.releaseLocks(ino, 1n, 'posix'), false, 'nothing left to release');
      assert.equal(await m.testLock({ ...req(ino, 9n, 'write', 0, 40), type: 'write' }), undefined, 'owner 1 holds nothing any more');
      assert.equal((await m.testLock({ ...req(ino, 9n, 'write', 0, LOCK_EOF), type: 'write' }))?.owner, 2n, 'owner 2 still holds its ranges');
    });

    it('flock locks are whole-file, shared or exclusive, and independent of POSIX locks', async (t) => {
      const vol = await ctx.ownVolume(t, 'locks-flock');
      const m = vol.engine;
      await m.registerSession(INFO);
      const ino = await fileOn(m, 'flock');
      assert.equal((await m.setLock(req(ino, 1n, 'read', 0, LOCK_EOF, 'flock'))).conflict, undefined);
      assert.equal((await m.setLock(req(ino, 2n, 'read', 0, LOCK_EOF, 'flock'))).conflict, undefined, 'shared flocks coexist');
      assert.equal((await m.setLock(req(ino, 3n, 'write', 0, LOCK_EOF, 'flock'))).conflict?.type, 'read');
      assert.equal((await m.setLock(req(ino, 3n, 'write', 0, LOCK_EOF, 'posix'))).conflict, undefined, 'a POSIX lock ignores flocks');
      await m.releaseLocks(ino, 1n, 'flock');
      await m.releaseLocks(ino, 2n, 'flock');
      assert.equal((await m.setLock(req(ino, 3n, 'write', 0, LOCK_EOF, 'flock'))).conflict, undefined);
      assert.equal((await m.setLock(req(ino, 3n, undefined, 0, LOCK_EOF, 'flock'))).released, true, 'LOCK_UN releases');
    });

    it('a lock on a missing inode is ENOENT; locks need a session (ENOLCK)', async (t) => {
      const vol = await ctx.ownVolume(t, 'locks-errors');
      const m = vol.engine;
      const ino = await fileOn(m, 'errors');
      await assert.rejects(m.setLock(req(ino, 1n, 'write')), { code: 'ENOLCK' });
      await m.registerSession(INFO);
      await assert.rejects(m.setLock(req(987_654_321, 1n, 'write')), { code: 'ENOENT' });
      await assert.rejects(m.setLock({ ...req(987_654_321, 1n, 'write'), holdsNone: true }), { code: 'ENOENT' }, 'the one-statement grant too');
      await assert.rejects(m.setLock(req(987_654_321, 1n, 'write', 0, LOCK_EOF, 'flock')), { code: 'ENOENT' }, 'and flock');
    });

    // PGlite serves one engine per database: sessions side by side exist only on PostgreSQL.
    if (ctx.multiEngine) it('two sessions: one holder at a time across them, and a dead session loses its locks', async (t) => {
      const vol = await ctx.ownVolume(t, 'locks-sessions');
      const [a, c] = [await vol.open(), await vol.open()];
      const sa = await a.registerSession(INFO);
      await c.registerSession({ ...INFO, host: 'other' });
      const ino = await fileOn(a, 'sessions');
      // Same owner number on two hosts: different owners (an owner is per session).
      for (let round = 0; round < 20; round++) {
        // Both paths, the one-statement grant and the transaction, many times over: never both granted.
        const holdsNone = round % 2 === 0;
        const race = await Promise.all([a.setLock({ ...req(ino, 5n, 'write'), holdsNone }), c.setLock({ ...req(ino, 5n, 'write'), holdsNone })]);
        assert.equal(race.filter((r) => r.conflict === undefined).length, 1, `round ${round}: exactly one of two simultaneous requests is granted`);
        await Promise.all([a.releaseLocks(ino, 5n, 'posix'), c.releaseLocks(ino, 5n, 'posix')]);
      }
      const both = await Promise.all([a.setLock(req(ino, 7n, 'write')), c.setLock(req(ino, 7n, 'write'))]);
      assert.equal(both.filter((r) => r.conflict === undefined).length, 1, 'exactly one of two simultaneous requests is granted');
      const holder = both[0]!.conflict === undefined ? a : c;
      const other = holder === a ? c : a;
      const seen = await other.testLock({ ...req(ino, 7n, 'write'), type: 'write' });
      assert.ok(seen !== undefined && (holder === a) === (seen.sid === sa), 'F_GETLK names the holding session');
      // The other engine takes the holder for dead (its expiry long past) and cleans it up.
      if (holder === a) await c.cleanExpiredSessions(Date.now() + TEN_YEARS_MS);
      else await a.cleanExpiredSessions(Date.now() + TEN_YEARS_MS);
      assert.equal((await other.setLock(req(ino, 7n, 'write'))).conflict, undefined, 'the dead session held nothing any more');
      const free = await fileOn(a, 'free');
      await assert.rejects(holder.setLock({ ...req(free, 8n, 'read', 0, 1), holdsNone: true }), { code: 'ENOLCK' }, 'a reaped session cannot take a lock until its heartbeat brings it back');
      await assert.rejects(holder.setLock(req(free, 8n, 'read', 0, 1)), { code: 'ENOLCK' }, 'through the transaction either');
    });
  });
}
