/**
 * `--meta-url-file FILE` on the commands that take a metadata URL besides mount (status,
 * config, fsck, gc), on the real PostgreSQL: the URL, password included, comes from a 0600
 * file instead of the command line; giving both or neither is a usage error (exit 2).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPgDatabase } from '../../support/pg.js';
import { runCli } from '../../support/cli.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

describe('--meta-url-file', () => {
  test('status, config, fsck and gc read the metadata URL from a file', async () => {
    const db = await freshPgDatabase('cli_url_file');
    cleanups.push(() => db.drop());
    const dir = await mkdtemp(join(tmpdir(), 'cli-url-file-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // The test server trusts local connections: the password is accepted and ignored.
    const url = new URL(db.url);
    url.password = 'filed-secret-77';
    const formatted = await runCli(['format', url.toString(), 'urlfile', '--storage', `file://${join(dir, 'blocks')}`]);
    assert.equal(formatted.code, 0, formatted.stderr);
    const file = join(dir, 'meta-url');
    await writeFile(file, `\n  ${url.toString()}  \n`, { mode: 0o600 });

    for (const args of [['status', '--json'], ['config', '--json'], ['fsck', '--json', '--no-progress'], ['gc', '--json', '--no-progress']]) {
      const r = await runCli([...args, '--meta-url-file', file]);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /filed-secret-77/);
    }
    const status = JSON.parse((await runCli(['status', '--meta-url-file', file, '--json'])).stdout) as { volume: { name: string } };
    assert.equal(status.volume.name, 'urlfile');

    const both = await runCli(['status', url.toString(), '--meta-url-file', file]);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /either META_URL or --meta-url-file/);
    const neither = await runCli(['fsck']);
    assert.equal(neither.code, 2, neither.stderr);
    assert.match(neither.stderr, /missing META_URL/);
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n', { mode: 0o600 });
    const none = await runCli(['gc', '--meta-url-file', empty]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /--meta-url-file .* holds no metadata URL/);
  });
});
