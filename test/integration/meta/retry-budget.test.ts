/**
 * The metadata retry budget (`--meta-retry-timeout`, MetaOptions.retryTimeoutMs; issue 16,
 * item 7) against a PostgreSQL server of this file's own that is stopped and started: with a
 * 3 s budget an operation fails with EIO after about 3 s and not before; an operation whose
 * database comes back within the budget succeeds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { errnoName, toErrno } from '../../../src/errors.js';
import { formatMeta, openMeta, type MetaEngine } from '../../../src/meta/index.js';
import { startRestartablePg, type RestartablePg } from '../../support/restartable-pg.js';
import { testFormatSettings } from '../../support/meta.js';

const CALLER = { uid: 0, gid: 0 };
const BUDGET_MS = 3000;

let server: RestartablePg;
let engine: MetaEngine;
before(async () => {
  server = await startRestartablePg('retry-budget');
  await formatMeta(server.url, testFormatSettings('retry-budget'));
  engine = await openMeta(server.url, { counterFlushMs: 0, retryTimeoutMs: BUDGET_MS });
});
after(async () => {
  await engine?.close();
  server?.finish();
});

/** How the operation ended and after how many ms. */
async function timed(op: () => Promise<unknown>): Promise<{ ms: number; errno: string }> {
  const started = Date.now();
  try {
    await op();
    return { ms: Date.now() - started, errno: 'ok' };
  } catch (err) {
    return { ms: Date.now() - started, errno: errnoName(toErrno(err)) };
  }
}

describe('metadata retry budget', () => {
  test('a read and a write fail with EIO after about the budget, not before', async (t) => {
    await server.stop();
    try {
      const [read, write] = await Promise.all([
        timed(() => engine.getattr(1)),
        timed(() => engine.mkdir(CALLER, 1, Buffer.from('never'), 0o755)),
      ]);
      t.diagnostic(`budget ${BUDGET_MS} ms: getattr ${read.errno} after ${read.ms} ms, mkdir ${write.errno} after ${write.ms} ms`);
      for (const [name, r] of [['getattr', read], ['mkdir', write]] as const) {
        assert.equal(r.errno, 'EIO', `${name} fails with EIO`);
        assert.ok(r.ms >= BUDGET_MS && r.ms < BUDGET_MS + 1500, `${name} failed after ${r.ms} ms`);
      }
    } finally {
      await server.start();
    }
    assert.equal((await engine.getattr(1)).ino, 1, 'the engine works again once the database is back');
  });

  test('an operation succeeds when the database comes back within the budget', async (t) => {
    await server.stop();
    let restarted = false;
    try {
      const mkdir = timed(() => engine.mkdir(CALLER, 1, Buffer.from('survives'), 0o755));
      await sleep(BUDGET_MS / 2);
      await server.start();
      restarted = true;
      const r = await mkdir;
      t.diagnostic(`mkdir during a ${BUDGET_MS / 2} ms outage: ${r.errno} after ${r.ms} ms`);
      assert.equal(r.errno, 'ok');
    } finally {
      if (!restarted) await server.start();
    }
    assert.equal((await engine.lookup(1, Buffer.from('survives'))).type, 'directory');
  });
});
