/**
 * The change-feed listener against the test bed's PostgreSQL, through a TCP relay on 127.0.0.1
 * that can go silent: a listening connection that stops answering without an error (no FIN, no
 * RST, as when a network path dies) is replaced within PING_EVERY_MS + PING_TIMEOUT_MS, and
 * the replacement is reported as a reset and receives notifications again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { listenChannel } from '../../../src/db/listener.js';
import { requirePgUrl } from '../../support/pg.js';

test('a listening connection that goes silent is replaced and hears notifications again', async () => {
  const target = new URL(requirePgUrl());
  const pairs: Array<{ client: Socket; server: Socket }> = [];
  const relay = createServer((client) => {
    const server = connect(Number(target.port || 5432), target.hostname);
    client.pipe(server).pipe(client);
    client.on('error', () => undefined);
    server.on('error', () => undefined);
    pairs.push({ client, server });
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const via = new URL(target.href);
  via.hostname = '127.0.0.1';
  via.port = String((relay.address() as { port: number }).port);
  const channel = `objectfs_listener_test_${process.pid}`;
  let resets = 0;
  const heard: string[] = [];
  const listener = listenChannel(via.href, channel, { onMessage: (p) => heard.push(p), onReset: () => { resets++; } });
  const direct = new pg.Client({ connectionString: target.href });
  await direct.connect();
  const waitFor = async (what: string, cond: () => boolean, ms: number) => {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline) assert.fail(`${what} within ${ms} ms`);
      await sleep(50);
    }
  };
  try {
    await waitFor('first subscription', () => resets === 1, 15_000);
    await direct.query('SELECT pg_notify($1, $2)', [channel, 'before']);
    await waitFor('a notification', () => heard.includes('before'), 5_000);
    // Silence the established connection: bytes stop flowing both ways, nothing is closed.
    for (const { client, server } of pairs) { client.unpipe(server); server.unpipe(client); client.pause(); server.pause(); }
    const silentSince = Date.now();
    await waitFor('a new subscription after the silence', () => resets === 2, 25_000);
    assert.ok(Date.now() - silentSince <= 20_000, `replaced after ${Date.now() - silentSince} ms`);
    await direct.query('SELECT pg_notify($1, $2)', [channel, 'after']);
    await waitFor('a notification on the new connection', () => heard.includes('after'), 5_000);
  } finally {
    await Promise.race([listener.close(), sleep(10_000)]); // a close that waits on a silent connection must not hang the test
    await direct.end();
    for (const { client, server } of pairs) { client.destroy(); server.destroy(); }
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  }
});
