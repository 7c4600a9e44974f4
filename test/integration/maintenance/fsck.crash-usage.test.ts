/**
 * A crash is a normal event for the usage counters (issue 16, item 3): a mount-like writer
 * (test/support/usage-crash-writer.ts, a session and no usage fold for an hour) creates and
 * writes files and is killed with SIGKILL. fsck is healthy while it lives, right after the
 * kill, and after its session is reaped, all without --repair, and statfs counts exactly what
 * it created; damage to the counters is still reported (exit 1) and repaired.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FsckReport } from '../../../src/maintenance/index.js';
import { freshDataVolume, KiB } from '../../support/data-volume.js';
import { cliJson, sqlOn } from '../../support/maintenance.js';

const BLOCK = 64 * KiB;
const FILES = 5;
const BYTES = 100_000;
const WRITER = fileURLToPath(new URL('../../support/usage-crash-writer.js', import.meta.url));

describe('usage counters after a writer is killed', () => {
  test('fsck is healthy without --repair while it lives, after the kill and after its session is reaped', async (t) => {
    const dv = await freshDataVolume('usage-crash', { meta: 'postgres', data: 's3', blockSize: BLOCK });
    const child = spawn(process.execPath, [WRITER, dv.metaUrl, String(FILES), String(BYTES)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const exited = once(child, 'exit');
    t.after(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
      await dv.cleanup();
    });
    let sid: number | undefined;
    child.on('message', (m: { type: string; sid?: number }) => { if (m.type === 'written') sid = m.sid; });
    for (const deadline = Date.now() + 60_000; sid === undefined;) {
      assert.ok(Date.now() < deadline, 'the writer reported within 60 s');
      assert.equal(child.exitCode, null, 'the writer is still running');
      await sleep(50);
    }

    const alive = (await cliJson<FsckReport>(['fsck', dv.metaUrl], 0)).report;
    assert.deepEqual(alive.problems, [], 'healthy while the writer lives with nothing folded');

    child.kill('SIGKILL');
    await exited;
    const killed = (await cliJson<FsckReport>(['fsck', dv.metaUrl, '--verify'], 0)).report;
    assert.deepEqual(killed.problems, [], 'healthy right after the kill');

    const observer = await dv.open();
    try {
      const before = await observer.meta.listSessions();
      assert.deepEqual(before.map((s) => s.sid), [sid], 'the dead session is listed until it expires');
      assert.equal(await observer.meta.cleanExpiredSessions(Date.now() + 61_000), 1, 'reaped once expired');
      const usage = await observer.meta.statfs();
      assert.equal(usage.usedInodes, 1 + 1 + 1 + FILES, 'root, the directory, the symlink and the files');
      const fileSpace = Math.ceil(BYTES / 4096) * 4096;
      assert.ok(usage.usedSpace >= FILES * fileSpace && usage.usedSpace < FILES * fileSpace + 3 * 4096, `used space ${usage.usedSpace}`);
    } finally {
      await observer.close();
    }
    const reaped = (await cliJson<FsckReport>(['fsck', dv.metaUrl], 0)).report;
    assert.deepEqual(reaped.problems, [], 'healthy after the session was reaped');

    // Damage is still damage: counters changed behind the engine's back are reported and repaired.
    await sqlOn(dv.metaUrl, [`UPDATE counter SET value = value + 7 WHERE name = 'used_inodes'`]);
    const damaged = (await cliJson<FsckReport>(['fsck', dv.metaUrl], 1)).report;
    assert.deepEqual(damaged.problems.map((p) => p.kind), ['usage']);
    await cliJson<FsckReport>(['fsck', dv.metaUrl, '--repair'], 0);
    assert.deepEqual((await cliJson<FsckReport>(['fsck', dv.metaUrl], 0)).report.problems, [], 'clean after --repair');
  });
});
