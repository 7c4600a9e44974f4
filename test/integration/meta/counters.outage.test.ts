/**
 * Usage counters across a database outage (issue 16, item 2), on a PostgreSQL server of this
 * file's own that is stopped and started: folds fail while it is down and the first failure is
 * logged once at warn; after it comes back the counters are written again and agree with the
 * nodes; close() does not throw because of the earlier failures and ends the session; a close
 * during an outage does not throw either, and its session is left to expire.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { formatMeta, openMeta, type MetaEngine, type MetaLog } from '../../../src/meta/index.js';
import { startRestartablePg, type RestartablePg } from '../../support/restartable-pg.js';
import { testFormatSettings } from '../../support/meta.js';

const CALLER = { uid: 0, gid: 0 };
const b = (s: string) => Buffer.from(s);

interface Logged { readonly level: 'info' | 'warn'; readonly msg: string }
function captureLog(): MetaLog & { lines: Logged[] } {
  const lines: Logged[] = [];
  return { lines, info: (msg) => { lines.push({ level: 'info', msg }); }, warn: (msg) => { lines.push({ level: 'warn', msg }); } };
}

/** The folded counter rows, the journal not folded yet, and what the nodes add up to. */
async function counters(url: string): Promise<{ space: number; inodes: number; journal: number; nodeSpace: number; nodeInodes: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<Record<string, string>>(`
      SELECT (SELECT value FROM counter WHERE name = 'used_space') AS space,
             (SELECT value FROM counter WHERE name = 'used_inodes') AS inodes,
             (SELECT count(*) FROM usage_delta) AS journal,
             (SELECT coalesce(sum((length + 4095) / 4096 * 4096), 0) FROM node) AS node_space,
             (SELECT count(*) FROM node) AS node_inodes`);
    const r = rows[0]!;
    return { space: Number(r['space']), inodes: Number(r['inodes']), journal: Number(r['journal']), nodeSpace: Number(r['node_space']), nodeInodes: Number(r['node_inodes']) };
  } finally {
    await client.end();
  }
}

let server: RestartablePg;
before(async () => {
  server = await startRestartablePg('counters-outage');
  await formatMeta(server.url, testFormatSettings('counters-outage'));
});
after(() => server?.finish());

describe('usage counters and a database outage', () => {
  test('recover after the outage, log it once, and close() still ends the session', async () => {
    const log = captureLog();
    // The first fold comes 1.5 s after open, inside the outage, with changes waiting for it.
    const engine: MetaEngine = await openMeta(server.url, { counterFlushMs: 1500, log, retryTimeoutMs: 30_000 });
    let closed = false;
    try {
      await engine.registerSession({ host: 'test', pid: process.pid, mountPoint: '/outage', version: 'test' });
      for (let i = 0; i < 5; i++) await engine.mknod(CALLER, 1, b(`before-${i}`), 'file', 0o644);
      await server.stop();
      await sleep(2500);
      await assert.rejects(engine.flushCounters(), 'a fold fails while the database is down');
      // An operation started during the outage waits for the database and succeeds.
      const during = engine.mknod(CALLER, 1, b('during'), 'file', 0o644);
      await sleep(1000);
      await server.start();
      await during;
      for (let i = 0; i < 5; i++) await engine.mknod(CALLER, 1, b(`after-${i}`), 'file', 0o644);
      const f = await engine.lookup(1, b('after-0'));
      const id = await engine.newSliceId();
      await engine.commitSlice({ ino: f.ino, index: 0, entry: { pos: 0, id, size: 100_000, off: 0, len: 100_000 }, length: 100_000 });

      // The timer alone writes the counters again: no journal left, counters equal the nodes.
      let now = await counters(server.url);
      for (const deadline = Date.now() + 10_000; (now.journal > 0 || now.inodes !== now.nodeInodes) && Date.now() < deadline;) {
        await sleep(100);
        now = await counters(server.url);
      }
      assert.equal(now.journal, 0, 'the journal was folded after the outage');
      assert.deepEqual({ space: now.space, inodes: now.inodes }, { space: now.nodeSpace, inodes: now.nodeInodes }, 'counters equal what the nodes add up to');
      assert.equal(now.nodeInodes, 1 + 5 + 1 + 5, 'root and eleven files');
      const audit = await engine.maintenance().scan((s) => s.usage());
      assert.deepEqual({ space: audit.storedSpace, inodes: audit.storedInodes }, { space: audit.space, inodes: audit.inodes }, 'the fsck audit agrees');

      const warns = log.lines.filter((l) => l.level === 'warn');
      assert.equal(warns.length, 1, `one warning for the whole outage: ${JSON.stringify(log.lines)}`);
      assert.match(warns[0]!.msg, /usage counters/, 'the warning says what it affects');
      assert.ok(log.lines.some((l) => l.level === 'info' && /updated again/.test(l.msg)), 'the recovery is logged');

      closed = true;
      await engine.close();
      const observer = await openMeta(server.url, { counterFlushMs: 0 });
      try {
        assert.deepEqual(await observer.listSessions(), [], 'close() ended the session');
      } finally {
        await observer.close();
      }
    } finally {
      if (!closed) await engine.close();
    }
  });

  test('close() during an outage does not throw; the session is left to expire and is cleaned', async () => {
    const log = captureLog();
    const engine = await openMeta(server.url, { counterFlushMs: 100, log, retryTimeoutMs: 1000 });
    await engine.registerSession({ host: 'test', pid: process.pid, mountPoint: '/close-outage', version: 'test' });
    await engine.mknod(CALLER, 1, b('close-outage'), 'file', 0o644);
    await server.stop();
    try {
      const started = Date.now();
      await engine.close();
      const took = Date.now() - started;
      assert.ok(took >= 900 && took < 10_000, `close() gave up after the retry budget (${took} ms)`);
      assert.ok(log.lines.some((l) => l.level === 'warn' && /session \d+ could not be ended/.test(l.msg)), `the session left behind is logged: ${JSON.stringify(log.lines)}`);
    } finally {
      await server.start();
    }
    const observer = await openMeta(server.url, { counterFlushMs: 0 });
    try {
      assert.equal((await observer.listSessions()).length, 1, 'the session is still listed until it expires');
      assert.equal(await observer.cleanExpiredSessions(Date.now() + 61_000), 1, 'and is cleaned once expired');
      const audit = await observer.maintenance().scan((s) => s.usage());
      assert.equal(audit.storedInodes, audit.inodes, 'the file created just before the outage is counted');
    } finally {
      await observer.close();
    }
  });
});
