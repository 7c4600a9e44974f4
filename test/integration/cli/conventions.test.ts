/**
 * CLI conventions through the real `objectfs` executable (stdout, stderr and exit code as a
 * shell sees them), on an embedded volume (PGlite metadata, a local directory for data):
 * error lines start "objectfs: " for commander's errors and for runtime errors, bad values exit
 * 2 naming the flag, durations take units, and every result-printing command's --json parses
 * (destroy last: it removes the volume).
 * (test/unit/cli/conventions.test.ts checks every option of every command in-process.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../support/cli.js';

let dir: string;
let metaUrl: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cli-conventions-'));
  metaUrl = `pglite://${dir}/meta`;
});
after(async () => { await rm(dir, { recursive: true, force: true }); });

describe('the objectfs executable', () => {
  test("commander's parse errors: exit 2, every stderr line starts objectfs:, nothing on stdout", async () => {
    for (const args of [['umount', join(dir, 'm'), '--timeout', 'abc'], ['frobnicate'], ['gc', metaUrl, '--window', 'soon']]) {
      const r = await runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      for (const line of r.stderr.trimEnd().split('\n')) assert.match(line, /^objectfs: /, r.stderr);
    }
    const nan = await runCli(['umount', join(dir, 'm'), '--timeout', 'abc']);
    assert.match(nan.stderr, /--timeout/);
    assert.doesNotMatch(nan.stderr, /NaN/);
  });

  test('a runtime error: exit 1, objectfs: first', async () => {
    const r = await runCli(['status', `pglite://${dir}/not-formatted`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^objectfs: /);
  });

  test('format, status, config, fsck, gc and destroy print JSON that parses; durations take units', async () => {
    const format = await runCli(['format', metaUrl, 'conv', '--storage', `file://${dir}/data`, '--block-size', '64K', '--json']);
    assert.equal(format.code, 0, format.stderr);
    assert.equal((JSON.parse(format.stdout) as { volume: { blockSize: number } }).volume.blockSize, 65536);
    const status = await runCli(['status', metaUrl, '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { volume: { name: string } }).volume.name, 'conv');
    const config = await runCli(['config', metaUrl, '--trash-days', '3', '--json']);
    assert.equal(config.code, 0, config.stderr);
    assert.equal((JSON.parse(config.stdout) as { after: { trashDays: number } }).after.trashDays, 3);
    const fsck = await runCli(['fsck', metaUrl, '--json', '--no-progress']);
    assert.equal(fsck.code, 0, fsck.stderr);
    assert.equal((JSON.parse(fsck.stdout) as { healthy: boolean }).healthy, true);
    assert.equal(fsck.stderr, '', '--no-progress: nothing on stderr');
    const gc = await runCli(['gc', metaUrl, '--window', '30m', '--json', '--no-progress']);
    assert.equal(gc.code, 0, gc.stderr);
    assert.equal((JSON.parse(gc.stdout) as { windowMs: number }).windowMs, 30 * 60_000);
    const text = await runCli(['gc', metaUrl, '--window', '1h30m', '--no-progress']);
    assert.match(text.stdout, /safety window 1h30m/);
    const uuid = (JSON.parse(format.stdout) as { volume: { uuid: string } }).volume.uuid;
    const destroy = await runCli(['destroy', metaUrl, uuid, '--yes', '--json', '--no-progress']);
    assert.equal(destroy.code, 0, destroy.stderr);
    assert.equal((JSON.parse(destroy.stdout) as { uuid: string; objectsDeleted: number }).uuid, uuid);
    for (const line of destroy.stderr.trimEnd().split('\n')) assert.doesNotMatch(line, /^objectfs: /, 'the plan is no error');
  });
});
