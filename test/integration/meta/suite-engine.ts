/**
 * Conformance: volume-wide state (statfs, slice ids, chunks, sessions) and what a second
 * engine on the same database (a second host) sees.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { FsError } from '../../../src/errors.js';
import type { SessionInfo, StatFs } from '../../../src/meta/index.js';
import { CHUNK_SIZE } from '../../../src/meta/slice-list.js';
import { CALLER, assertTimeBetween, b, listNames, nowNs, rejectsWith, unlinkChecked } from './suite-context.js';
import type { SuiteContext } from './suite-context.js';

function assertStatFsSane(s: StatFs, what: string): void {
  for (const [k, v] of Object.entries(s)) {
    assert.ok(Number.isSafeInteger(v) && v >= 0, `${what}: ${k} = ${v} is a non-negative integer`);
  }
  assert.ok(s.usedSpace + s.availSpace <= s.totalSpace, `${what}: used + avail space ≤ total`);
  assert.ok(s.usedInodes + s.availInodes <= s.totalInodes, `${what}: used + avail inodes ≤ total`);
}

const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

export function engineTests(ctx: SuiteContext): void {
  describe('statfs', () => {
    it('counts created inodes and committed bytes after flushCounters, on every engine', async (t) => {
      const vol = await ctx.ownVolume(t, 'statfs');
      const m = vol.engine;
      await m.flushCounters();
      const s0 = await m.statfs();
      assertStatFsSane(s0, 'fresh volume');
      const d = await m.mkdir(CALLER, 1, b('d'), 0o755);
      for (let i = 0; i < 5; i++) await m.mknod(CALLER, d.ino, b(`f${i}`), 'file', 0o644);
      await m.symlink(CALLER, d.ino, b('l'), b('f0'));
      const f = await m.lookup(d.ino, b('f0'));
      await m.link(f.ino, d.ino, b('f0-again'));
      await m.flushCounters();
      const s1 = await m.statfs();
      assertStatFsSane(s1, 'after creates');
      assert.equal(s1.usedInodes - s0.usedInodes, 7, 'a directory, five files and a symlink; a hard link is no inode');
      assert.ok(s1.availInodes <= s0.availInodes, 'available inodes do not grow with use');

      const len = 100_000;
      const id = await m.newSliceId();
      await m.commitSlice({ ino: f.ino, index: 0, entry: { pos: 0, id, size: len, off: 0, len }, length: len });
      await m.flushCounters();
      const s2 = await m.statfs();
      assertStatFsSane(s2, 'after a write');
      const grown = s2.usedSpace - s1.usedSpace;
      assert.ok(grown >= len && grown < len + 65536, `used space grew by ${grown} for ${len} bytes written`);
      assert.ok(s2.availSpace <= s1.availSpace, 'available space does not grow with use');
      if (ctx.multiEngine) {
        const seen = await (await vol.open()).statfs();
        assert.equal(seen.usedInodes, s2.usedInodes, 'another engine sees the flushed inode count');
        assert.equal(seen.usedSpace, s2.usedSpace, 'another engine sees the flushed space');
      }
      // Counters accumulated after the last flush are written by close().
      await m.mknod(CALLER, d.ino, b('late'), 'file', 0o644);
      await vol.close(m);
      const reopened = await (await vol.open()).statfs();
      assert.equal(reopened.usedInodes, s2.usedInodes + 1, 'close() flushed the last create; a reopen sees it');
      assert.equal(reopened.usedSpace, s2.usedSpace);
    });
  });

  describe('chunks and slices', () => {
    it('commitSlice appends entries in order, grows (never shrinks) the length, readChunk returns them', async () => {
      const d = await ctx.dir('slices');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      const empty = await ctx.meta.readChunk(f.ino, 0);
      assert.deepEqual(empty.slices, [], 'a never-written chunk is empty');
      assert.ok(Number.isInteger(empty.version));
      const e1 = { pos: 0, id: await ctx.meta.newSliceId(), size: 1000, off: 0, len: 1000 };
      const t0 = nowNs();
      const a1 = await ctx.meta.commitSlice({ ino: f.ino, index: 0, entry: e1, length: 1000 });
      assert.equal(a1.length, 1000);
      assertTimeBetween(a1.mtime, t0, nowNs(), 'mtime defaults to now');
      const e2 = { pos: 500, id: await ctx.meta.newSliceId(), size: 2000, off: 100, len: 1500 };
      const a2 = await ctx.meta.commitSlice({ ino: f.ino, index: 0, entry: e2, length: 2000, mtime: 1234567890123456789n });
      assert.equal(a2.length, 2000);
      assert.equal(a2.mtime, 1234567890123456789n, 'the given mtime is recorded');
      const rec = await ctx.meta.readChunk(f.ino, 0);
      assert.deepEqual(rec.slices.map((e) => ({ ...e })), [e1, e2], 'entries in commit order');
      assert.ok(rec.version > empty.version, 'every change of the list bumps the version (cached maps are keyed by it)');
      const v2 = rec.version;
      const e3 = { pos: 10, id: await ctx.meta.newSliceId(), size: 10, off: 0, len: 10 };
      const a3 = await ctx.meta.commitSlice({ ino: f.ino, index: 3, entry: e3, length: 3 * CHUNK_SIZE + 20 });
      assert.equal(a3.length, 3 * CHUNK_SIZE + 20, 'the length follows the highest chunk written');
      assert.deepEqual((await ctx.meta.readChunk(f.ino, 3)).slices.map((e) => ({ ...e })), [e3]);
      assert.deepEqual((await ctx.meta.readChunk(f.ino, 1)).slices, [], 'chunks are independent');
      const e4 = { pos: 0, id: await ctx.meta.newSliceId(), size: 5, off: 0, len: 5 };
      const a4 = await ctx.meta.commitSlice({ ino: f.ino, index: 0, entry: e4, length: 5 });
      assert.equal(a4.length, 3 * CHUNK_SIZE + 20, 'a commit never shrinks the length');
      assert.equal((await ctx.meta.getattr(f.ino)).length, 3 * CHUNK_SIZE + 20);
      const after = await ctx.meta.readChunk(f.ino, 0);
      assert.equal(after.slices.length, 3);
      assert.ok(after.version > v2, 'a third append bumps it again');
      await rejectsWith(() => ctx.meta.commitSlice({ ino: 987_654_321, index: 0, entry: e4, length: 5 }), 'ENOENT', 'commit to a missing inode');
    });

    it('openRecord: the attributes and the first chunk\'s map from one snapshot, as getattr and readChunk give them', async () => {
      const d = await ctx.dir('open-record');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      const fresh = await ctx.meta.openRecord(f.ino);
      assert.deepEqual(fresh.attr, await ctx.meta.getattr(f.ino));
      assert.deepEqual(fresh.firstChunk, await ctx.meta.readChunk(f.ino, 0), 'a never-written file: an empty map');
      const e1 = { pos: 0, id: await ctx.meta.newSliceId(), size: 700, off: 0, len: 700 };
      await ctx.meta.commitSlice({ ino: f.ino, index: 0, entry: e1, length: 700 });
      const e2 = { pos: 10, id: await ctx.meta.newSliceId(), size: 20, off: 0, len: 20 };
      await ctx.meta.commitSlice({ ino: f.ino, index: 1, entry: e2, length: CHUNK_SIZE + 30 });
      const written = await ctx.meta.openRecord(f.ino);
      assert.deepEqual(written.attr, await ctx.meta.getattr(f.ino));
      assert.equal(written.attr.length, CHUNK_SIZE + 30);
      const chunk0 = await ctx.meta.readChunk(f.ino, 0);
      assert.deepEqual({ ...written.firstChunk, slices: written.firstChunk.slices.map((e) => ({ ...e })) },
        { ...chunk0, slices: chunk0.slices.map((e) => ({ ...e })) }, 'chunk 0 only, with the length of the same snapshot');
      await rejectsWith(() => ctx.meta.openRecord(987_654_321), 'ENOENT', 'a missing inode');
    });

    it('commitAppend puts a slice at the end the database has, split at a chunk boundary; concurrent appends never overlap', async () => {
      const d = await ctx.dir('commit-append');
      const f = await ctx.meta.mknod(CALLER, d.ino, b('log'), 'file', 0o644);
      const first = await ctx.meta.commitAppend(f.ino, await ctx.meta.newSliceId(), 100, nowNs());
      assert.equal(first.at, 0);
      assert.equal(first.attr.length, 100);
      // The length moves on without this writer knowing: its next append still lands at the end.
      await ctx.meta.setattr(f.ino, { length: CHUNK_SIZE - 10 });
      const id = await ctx.meta.newSliceId();
      const across = await ctx.meta.commitAppend(f.ino, id, 30, nowNs());
      assert.equal(across.at, CHUNK_SIZE - 10);
      assert.equal(across.attr.length, CHUNK_SIZE + 20);
      const tail0 = (await ctx.meta.readChunk(f.ino, 0)).slices.at(-1);
      assert.deepEqual({ ...tail0 }, { pos: CHUNK_SIZE - 10, id, size: 30, off: 0, len: 10 }, 'the first 10 bytes end chunk 0');
      assert.deepEqual((await ctx.meta.readChunk(f.ino, 1)).slices.map((e) => ({ ...e })), [{ pos: 0, id, size: 30, off: 10, len: 20 }], 'the rest starts chunk 1');
      const g = await ctx.meta.mknod(CALLER, d.ino, b('shared'), 'file', 0o644);
      const sizes = Array.from({ length: 20 }, (_, i) => 10 + i);
      const placed = await Promise.all(sizes.map(async (size) => ({ size, ...(await ctx.meta.commitAppend(g.ino, await ctx.meta.newSliceId(), size, nowNs())) })));
      placed.sort((x, y) => x.at - y.at);
      let end = 0;
      for (const p of placed) {
        assert.equal(p.at, end, 'each append starts where the one before it ended: no gap, no overlap');
        end += p.size;
      }
      assert.equal((await ctx.meta.getattr(g.ino)).length, end);
      await rejectsWith(async () => ctx.meta.commitAppend(d.ino, await ctx.meta.newSliceId(), 5, nowNs()), 'EINVAL', 'an append to a directory');
    });

    it('newSliceId hands out 1,000 distinct positive ids, never again after a reopen, never shared by two engines', async (t) => {
      const vol = await ctx.ownVolume(t, 'slice-ids');
      const first = vol.engine;
      const ids: number[] = [];
      for (let i = 0; i < 500; i++) ids.push(await first.newSliceId());
      ids.push(...await Promise.all(Array.from({ length: 500 }, () => first.newSliceId())));
      for (const id of ids) assert.ok(Number.isSafeInteger(id) && id > 0, `slice id ${id}`);
      assert.equal(new Set(ids).size, 1000, 'no id handed out twice');
      // An engine that closes with ids left in its batch must not let a later one reuse any.
      await vol.close(first);
      const second = await vol.open();
      ids.push(...await Promise.all(Array.from({ length: 300 }, () => second.newSliceId())));
      assert.equal(new Set(ids).size, 1300, 'ids after a reopen are new');
      if (ctx.multiEngine) {
        const third = await vol.open();
        const [mine, theirs] = await Promise.all([
          Promise.all(Array.from({ length: 1200 }, () => second.newSliceId())),
          Promise.all(Array.from({ length: 1200 }, () => third.newSliceId())),
        ]);
        assert.equal(new Set([...ids, ...mine, ...theirs]).size, 3700, 'ids of two engines on one database are disjoint');
      }
    });
  });

  describe('background jobs', () => {
    it('claimJob: one claimant per period among racing engines, again after the period; reports are kept', async (t) => {
      const vol = await ctx.ownVolume(t, 'jobs');
      const engines = ctx.multiEngine ? [vol.engine, await vol.open(), await vol.open()] : [vol.engine];
      const t0 = 1_000_000_000_000;
      const first = await Promise.all(engines.flatMap((e) => [e.claimJob('expire', 60_000, t0), e.claimJob('expire', 60_000, t0)]));
      assert.equal(first.filter(Boolean).length, 1, `exactly one of ${first.length} racing claims wins: ${first.join(',')}`);
      assert.equal(await engines[0]!.claimJob('expire', 60_000, t0 + 59_999), false, 'not again within the period');
      assert.equal(await engines.at(-1)!.claimJob('backup', 60_000, t0 + 1), true, 'another job is claimed on its own');
      const later = await Promise.all(engines.map((e) => e.claimJob('expire', 60_000, t0 + 60_000)));
      assert.equal(later.filter(Boolean).length, 1, 'one claim again once the period has passed');
      await engines[0]!.reportJob('expire', { removed: 3, note: 'ok' });
      const jobs = await engines.at(-1)!.listJobs();
      assert.deepEqual(jobs.map((j) => j.name), ['backup', 'expire']);
      const expire = jobs.find((j) => j.name === 'expire')!;
      assert.equal(expire.claimedAt, t0 + 60_000);
      assert.deepEqual(expire.info, { removed: 3, note: 'ok' });
      assert.equal(jobs.find((j) => j.name === 'backup')!.info, null, 'no report yet');
    });
  });

  describe('sessions', () => {
    it('registers, lists with info, heartbeats, and expires sessions', async (t) => {
      const vol = await ctx.ownVolume(t, 'sessions');
      // PGlite holds one engine per database, so there the one engine registers one session.
      const engines = ctx.multiEngine ? [await vol.open(), await vol.open()] : [vol.engine];
      const infos: SessionInfo[] = [
        { host: 'host-a', pid: 4242, mountPoint: '/mnt/with space', version: '0.1.0', processName: 'objectfs' },
        { host: 'host-b', pid: 7, mountPoint: '/mnt/b', version: '0.1.0' },
      ];
      const t0 = Date.now();
      const sids: number[] = [];
      for (const [i, e] of engines.entries()) sids.push(await e.registerSession(infos[i]!));
      for (const sid of sids) assert.ok(Number.isSafeInteger(sid) && sid > 0, `session id ${sid}`);
      assert.equal(new Set(sids).size, sids.length, 'every session has its own id');
      const rows = await vol.engine.listSessions();
      assert.equal(rows.length, engines.length);
      for (const [i, sid] of sids.entries()) {
        const row = rows.find((r) => r.sid === sid);
        assert.ok(row !== undefined, `session ${sid} is listed`);
        assert.deepEqual(row.info, infos[i], 'the info round-trips');
        assert.ok(row.expire > t0, `expire ${row.expire} (ms) lies in the future`);
        assert.ok(row.expire < t0 + 3_600_000, `expire ${row.expire} is ms since the epoch, within the hour`);
        assert.ok(row.heartbeat >= t0 && row.heartbeat <= Date.now(), `last heartbeat ${row.heartbeat} is the registration time`);
      }
      const before = rows.find((r) => r.sid === sids[0])!;
      await sleep(20);
      await engines[0]!.heartbeat();
      const beat = (await vol.engine.listSessions()).find((r) => r.sid === sids[0]);
      assert.ok(beat !== undefined && beat.expire > before.expire, 'heartbeat pushes the expiry forward');
      assert.ok(beat.heartbeat > before.heartbeat, 'and records the time of the heartbeat');
      assert.deepEqual(beat.info, infos[0], 'the info still round-trips');

      assert.equal(await vol.engine.cleanExpiredSessions(), 0, 'live sessions are not cleaned');
      assert.equal((await vol.engine.listSessions()).length, engines.length);
      const future = Date.now() + TEN_YEARS_MS;
      // A client never cleans its own session (it is alive by definition), only other ones.
      assert.equal(await engines[0]!.cleanExpiredSessions(future), engines.length - 1,
        'ten years from now every other session has expired');
      assert.deepEqual((await vol.engine.listSessions()).map((r) => r.sid), [sids[0]], 'the cleaner keeps its own session');
      if (ctx.multiEngine) {
        // vol.engine has no session of its own: it cleans the last one.
        assert.equal(await vol.engine.cleanExpiredSessions(future), 1);
        assert.deepEqual(await vol.engine.listSessions(), []);
        await engines[0]!.heartbeat();
        assert.deepEqual((await vol.engine.listSessions()).map((r) => r.sid), [sids[0]],
          'a heartbeat brings back a live session that another client judged dead');
      }
    });

    it('close() ends the session of an engine', async (t) => {
      const vol = await ctx.ownVolume(t, 'session-close');
      const a = ctx.multiEngine ? await vol.open() : vol.engine;
      const sid = await a.registerSession({ host: 'h', pid: 1, mountPoint: '/m', version: 'v' });
      assert.deepEqual((await a.listSessions()).map((r) => r.sid), [sid]);
      await vol.close(a);
      const reader = ctx.multiEngine ? vol.engine : await vol.open();
      assert.deepEqual(await reader.listSessions(), [], 'a closed engine leaves no session');
    });
  });

  describe('unlinked while open', () => {
    it('an inode open on this client outlives its last unlink until its last close', async (t) => {
      const vol = await ctx.ownVolume(t, 'kept');
      const m = vol.engine;
      await m.registerSession({ host: 'h', pid: 1, mountPoint: '/m', version: 'v' });
      const f = await m.mknod(CALLER, 1, b('open'), 'file', 0o644);
      const entry = { pos: 0, id: await m.newSliceId(), size: 10, off: 0, len: 10 };
      await m.commitSlice({ ino: f.ino, index: 0, entry, length: 10 });
      m.openInode(f.ino);
      m.openInode(f.ino);
      assert.deepEqual(await unlinkChecked(m, 1, b('open')), { ino: f.ino, gone: true });
      await rejectsWith(() => m.lookup(1, b('open')), 'ENOENT', 'the name is gone');
      assert.equal((await m.getattr(f.ino)).nlink, 0, 'the inode stays, with no links');
      await m.commitSlice({ ino: f.ino, index: 0, entry: { pos: 10, id: await m.newSliceId(), size: 5, off: 0, len: 5 }, length: 15 });
      assert.equal((await m.getattr(f.ino)).length, 15, 'it stays writable');
      await m.closeInode(f.ino);
      assert.equal((await m.getattr(f.ino)).nlink, 0, 'still there while one open remains');
      await m.closeInode(f.ino);
      await rejectsWith(() => m.getattr(f.ino), 'ENOENT', 'the last close deletes it');
      assert.ok(await m.releaseDroppedChunks() >= 1, 'its chunk went to deferred deletion');

      const g = await m.mknod(CALLER, 1, b('closed'), 'file', 0o644);
      m.openInode(g.ino);
      await m.closeInode(g.ino);
      await m.unlink(1, b('closed'));
      await rejectsWith(() => m.getattr(g.ino), 'ENOENT', 'a closed file is deleted at its last unlink');
    });

    if (ctx.multiEngine) it('a dead session’s kept inodes are deleted by any live client', async (t) => {
      const vol = await ctx.ownVolume(t, 'kept-dead');
      const dying = await vol.open();
      await dying.registerSession({ host: 'gone', pid: 2, mountPoint: '/m', version: 'v' });
      const f = await dying.mknod(CALLER, 1, b('f'), 'file', 0o644);
      dying.openInode(f.ino);
      await dying.unlink(1, b('f'));
      assert.equal((await vol.engine.getattr(f.ino)).nlink, 0, 'kept for the dying client');
      // The client vanishes without closing (its session row stays until it expires).
      assert.equal(await vol.engine.cleanExpiredSessions(Date.now() + TEN_YEARS_MS), 1);
      await rejectsWith(() => vol.engine.getattr(f.ino), 'ENOENT', 'the dead session’s inode is gone');
    });
  });

  describe('reopen', () => {
    it('everything committed survives close and reopen', async (t) => {
      const vol = await ctx.ownVolume(t, 'reopen');
      const m = vol.engine;
      const d = await m.mkdir(CALLER, 1, b('d'), 0o700);
      const f = await m.mknod(CALLER, d.ino, b('f'), 'file', 0o640);
      await m.link(f.ino, 1, b('f-link'));
      const l = await m.symlink(CALLER, d.ino, b('l'), Buffer.from([0xff, 0x2f, 0x41]));
      await m.setxattr(f.ino, b('user.k'), Buffer.from([0, 1, 2]));
      const entry = { pos: 7, id: await m.newSliceId(), size: 100, off: 3, len: 90 };
      await m.commitSlice({ ino: f.ino, index: 2, entry, length: 2 * CHUNK_SIZE + 97, mtime: 77n });
      const attrs = [await m.getattr(1), await m.getattr(d.ino), await m.getattr(f.ino), await m.getattr(l.ino)];
      await vol.close(m);
      const again = await vol.open();
      assert.deepEqual([await again.getattr(1), await again.getattr(d.ino), await again.getattr(f.ino), await again.getattr(l.ino)], attrs);
      assert.deepEqual(await listNames(again, 1), ['d', 'f-link']);
      assert.deepEqual(await listNames(again, d.ino), ['f', 'l']);
      assert.deepEqual(await again.readlink(l.ino), Buffer.from([0xff, 0x2f, 0x41]));
      assert.deepEqual(await again.getxattr(f.ino, b('user.k')), Buffer.from([0, 1, 2]));
      assert.deepEqual((await again.readChunk(f.ino, 2)).slices.map((e) => ({ ...e })), [entry]);
      const g = await again.mknod(CALLER, d.ino, b('g'), 'file', 0o644);
      assert.ok(!attrs.some((a) => a.ino === g.ino), 'a reopened engine never reuses an inode number');
    });
  });

  describe(ctx.multiEngine ? 'two engines on one database' : 'one engine per embedded database', () => {
    if (!ctx.multiEngine) {
      it('a second open of the same data directory is refused while the first is open, then allowed', async (t) => {
        const vol = await ctx.ownVolume(t, 'lock');
        await assert.rejects(vol.open(), (err: unknown) => err instanceof Error && !(err instanceof FsError),
          'a second engine on one PGlite directory is refused');
        assert.equal((await vol.engine.getattr(1)).ino, 1, 'the refused open did not disturb the open engine');
        await vol.close(vol.engine);
        const again = await vol.open();
        assert.equal((await again.getattr(1)).type, 'directory');
      });
    }

    if (ctx.multiEngine) it('see each other’s changes at once: names, attributes, xattrs, chunks', async () => {
      const other = await ctx.vol.open();
      assert.deepEqual(other.volume, ctx.meta.volume, 'both read the same volume record');
      const d = await ctx.dir('two-engines');
      const sub = await ctx.meta.mkdir(CALLER, d.ino, b('sub'), 0o755);
      assert.equal((await other.lookup(d.ino, b('sub'))).ino, sub.ino, 'a new name');
      assert.equal((await other.getattr(d.ino)).nlink, 3, 'a new parent link count');
      await ctx.meta.setattr(sub.ino, { mode: 0o700, mtime: 42n });
      const seen = await other.getattr(sub.ino);
      assert.equal(seen.mode, 0o700, 'a chmod');
      assert.equal(seen.mtime, 42n, 'a time change');
      await other.rename(d.ino, b('sub'), d.ino, b('renamed'));
      assert.deepEqual(await listNames(ctx.meta, d.ino), ['renamed'], 'a rename by the other engine');
      await ctx.meta.setxattr(sub.ino, b('user.k'), b('v'));
      assert.deepEqual(await other.getxattr(sub.ino, b('user.k')), b('v'), 'an xattr');
      const f = await other.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      const entry = { pos: 0, id: await other.newSliceId(), size: 10, off: 0, len: 10 };
      await other.commitSlice({ ino: f.ino, index: 0, entry, length: 10 });
      assert.equal((await ctx.meta.getattr(f.ino)).length, 10, 'a committed length');
      assert.deepEqual((await ctx.meta.readChunk(f.ino, 0)).slices.map((e) => ({ ...e })), [entry], 'a committed slice');
      await ctx.meta.unlink(d.ino, b('f'));
      await rejectsWith(() => other.lookup(d.ino, b('f')), 'ENOENT', 'an unlink');
    });

    it('racing creates of one name: exactly one wins, the rest get EEXIST; link counts stay exact', async () => {
      const engines = ctx.multiEngine ? [ctx.meta, await ctx.vol.open()] : [ctx.meta, ctx.meta];
      const other = engines[1]!;
      const d = await ctx.dir('race');
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? engines[i % 2]!.mkdir(CALLER, d.ino, b('same'), 0o755)
          : engines[i % 2]!.mknod(CALLER, d.ino, b('same'), 'file', 0o644)));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one create succeeded');
      for (const r of results) {
        if (r.status === 'rejected') {
          assert.ok(r.reason instanceof FsError && r.reason.code === 'EEXIST', `a losing create fails with EEXIST, not ${String(r.reason)}`);
        }
      }
      const winner = (won[0] as PromiseFulfilledResult<{ type: string }>).value;
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, winner.type === 'directory' ? 3 : 2);

      const f = await ctx.meta.mknod(CALLER, d.ino, b('f'), 'file', 0o644);
      await Promise.all(Array.from({ length: 20 }, (_, i) => engines[i % 2]!.link(f.ino, d.ino, b(`link${i}`))));
      assert.equal((await other.getattr(f.ino)).nlink, 21, 'twenty concurrent links, none lost');
      await Promise.all(Array.from({ length: 20 }, (_, i) => engines[i % 2]!.mkdir(CALLER, d.ino, b(`dir${i}`), 0o755)));
      const base = winner.type === 'directory' ? 3 : 2;
      assert.equal((await ctx.meta.getattr(d.ino)).nlink, base + 20, 'twenty concurrent mkdirs, none lost');
      await Promise.all(Array.from({ length: 20 }, (_, i) => engines[i % 2]!.unlink(d.ino, b(`link${i}`))));
      assert.equal((await ctx.meta.getattr(f.ino)).nlink, 1, 'twenty concurrent unlinks, none lost');
    });
  });
}
