/** Which sessions stop `objectfs destroy` (src/maintenance/destroy-sessions.ts, pure). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeSession, sessionRefusal } from '../../../src/maintenance/index.js';
import type { SessionRow } from '../../../src/meta/index.js';

const NOW = Date.parse('2026-12-05T12:00:00Z');
const session = (sid: number, beatAgoS: number, timeoutS = 60): SessionRow => ({
  sid, info: { host: `h${sid}`, pid: 100 + sid, mountPoint: `/mnt/${sid}`, version: 't' },
  heartbeat: NOW - beatAgoS * 1000, expire: NOW - beatAgoS * 1000 + timeoutS * 1000,
});

describe('sessionRefusal', () => {
  test('no session: destroy goes on, with or without --force', () => {
    assert.equal(sessionRefusal('v', [], NOW, false), undefined);
    assert.equal(sessionRefusal('v', [], NOW, true), undefined);
  });

  test('a live session refuses even with --force, and every session is listed', () => {
    for (const force of [false, true]) {
      const msg = sessionRefusal('v', [session(1, 5), session(2, 600)], NOW, force);
      assert.ok(msg !== undefined);
      const lines = msg.split('\n');
      assert.match(lines[0]!, /^volume "v" is mounted: 1 live session\(s\).*--force does not override a live session/);
      assert.equal(lines[1], '  session #1: host h1, pid 101, mount point /mnt/1, last heartbeat 2026-12-05T11:59:55.000Z (5 s ago), alive until 2026-12-05T12:00:55.000Z');
      assert.equal(lines[2], '  session #2: host h2, pid 102, mount point /mnt/2, last heartbeat 2026-12-05T11:50:00.000Z (600 s ago), stale');
    }
  });

  test('stale sessions refuse without --force and are passed with it', () => {
    const stale = [session(3, 61), session(4, 3600)];
    assert.match(sessionRefusal('v', stale, NOW, false) ?? '', /^volume "v" has 2 stale session\(s\).*run again with --force; nothing was deleted\n  session #3/);
    assert.equal(sessionRefusal('v', stale, NOW, true), undefined);
  });

  test('the heartbeat deadline decides: a session whose deadline is now is still alive', () => {
    assert.match(sessionRefusal('v', [session(5, 60)], NOW, true) ?? '', /live session/);
    assert.match(describeSession({ ...session(6, 0), heartbeat: 0 }, NOW), /last heartbeat never/);
  });
});
