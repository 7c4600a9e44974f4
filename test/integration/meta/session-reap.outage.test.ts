/**
 * Dead-session sweeps across a database outage, on a PostgreSQL server of this file's own that
 * is stopped and started. While the database is down no session can be renewed, so once it is
 * back every session looks expired; a client must not end the sessions of live mounts then
 * (that drops their locks and the files they keep open after unlink). It waits a session
 * timeout after its own renewals resume, and a session still silent by then is ended.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatMeta, openMeta, type MetaEngine } from '../../../src/meta/index.js';
import { startRestartablePg, type RestartablePg } from '../../support/restartable-pg.js';
import { testFormatSettings } from '../../support/meta.js';

const TIMEOUT_S = 2;
const info = (name: string) => ({ host: name, pid: process.pid, mountPoint: `/${name}`, version: 'test' });

let server: RestartablePg;
before(async () => {
  server = await startRestartablePg('session-reap');
  await formatMeta(server.url, testFormatSettings('session-reap'));
});
after(() => server?.finish());

describe('dead-session sweeps and a database outage', () => {
  test('after an outage longer than the session timeout, live sessions are not reaped; a silent one is, a timeout later', async () => {
    // The sweeper renews every 0.4 s; the other never renews by itself (its renewals are driven
    // by the test), so it stands for a live mount until the test stops renewing it.
    const sweeper: MetaEngine = await openMeta(server.url, { counterFlushMs: 0, sessionTimeoutSeconds: TIMEOUT_S, heartbeatSeconds: 0.4, retryTimeoutMs: 30_000 });
    const other: MetaEngine = await openMeta(server.url, { counterFlushMs: 0, sessionTimeoutSeconds: TIMEOUT_S, heartbeatSeconds: 1000, retryTimeoutMs: 30_000 });
    try {
      await sweeper.registerSession(info('sweeper'));
      const otherSid = await other.registerSession(info('other'));
      await server.stop();
      await sleep(TIMEOUT_S * 1000 + 1500);
      await server.start();
      await sweeper.heartbeat(); // the sweeper is back (its timer would get there within 0.4 s)
      assert.equal(await sweeper.cleanExpiredSessions(), 0, 'nothing is reaped right after the outage');
      assert.ok((await sweeper.listSessions()).some((s) => s.sid === otherSid), 'the other session is kept');
      await other.heartbeat(); // the live mount renews in time
      await sleep(TIMEOUT_S * 1000 + 500); // …and then goes silent for longer than a timeout
      assert.equal(await sweeper.cleanExpiredSessions(), 1, 'a session silent for a whole timeout after the outage is reaped');
      assert.ok(!(await sweeper.listSessions()).some((s) => s.sid === otherSid));
    } finally {
      await other.close();
      await sweeper.close();
    }
  });
});
