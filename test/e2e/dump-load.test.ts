/**
 * `objectfs dump` / `objectfs load` end to end: a tree written through a real mount (PGlite
 * over s3rver) with hard links, symlinks, xattrs, a sparse and an empty file, odd owners, modes
 * and times is dumped, loaded into PostgreSQL, checked by fsck and mounted: every path has the
 * same inode, stat, xattrs, symlink target and sha256 (the data objects are the same ones).
 * Then back from PostgreSQL into PGlite through a gzip dump. A dump taken while a writer is busy
 * loads into a volume fsck calls healthy; load refuses a formatted database and a truncated
 * dump, and leaves the database unformatted after the refusal.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMounted, startMount, type TestMount } from '../support/mounted.js';
import { bash, localDir, ok } from '../support/e2e-sh.js';
import { runCli, type CliResult } from '../support/cli.js';
import { freshPgDatabase, freshPgliteUrl } from '../support/pg.js';

const STATE = fileURLToPath(new URL('../../../test/support/tree-state.py', import.meta.url));
const POPULATE = fileURLToPath(new URL('../../../test/support/tree-populate.sh', import.meta.url));

let src: TestMount;
let work: string;
let expected: unknown;
/** The source's directory quotas (`quota list --json`). */
let expectedQuotas: unknown;
/** The source's trash listing, without ages (which move). */
let expectedTrash: unknown;
const TRASHED = Buffer.from('a file deleted before the dump, kept by the trash\n'.repeat(3000));
const cleanups: (() => Promise<unknown>)[] = [];

function succeeded(r: CliResult, what: string): CliResult {
  assert.equal(r.code, 0, `${what} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  return r;
}

/** `objectfs quota list --json` of `url`. */
async function quotaListing(url: string): Promise<unknown> {
  return JSON.parse(succeeded(await runCli(['quota', 'list', url, '--json']), 'quota list').stdout);
}

/** `objectfs trash --json` of `url`, ages left out. */
async function trashListing(url: string): Promise<unknown> {
  const listing = JSON.parse(succeeded(await runCli(['trash', url, '--json']), 'trash').stdout) as { entries: Record<string, unknown>[] };
  return { ...listing, entries: listing.entries.map(({ ageSeconds: _age, ...rest }) => rest) };
}

async function treeState(root: string): Promise<unknown> {
  return JSON.parse(await ok('python3', [STATE, root]));
}

/** fsck of `url` must say healthy. */
async function assertHealthy(url: string): Promise<void> {
  const r = await runCli(['fsck', url, '--json', '--no-progress'], {}, 300_000);
  const report = JSON.parse(r.stdout) as { healthy: boolean; problems: unknown[] };
  assert.equal(report.healthy, true, `fsck of the loaded volume: ${JSON.stringify(report.problems)}`);
  assert.equal(r.code, 0);
}

/** Mounts the loaded volume at `url` in the background, runs `fn` on it, unmounts. */
async function withMount<T>(url: string, label: string, fn: (mnt: string) => Promise<T>): Promise<T> {
  const mnt = join(work, `mnt-${label}`);
  await mkdir(mnt, { recursive: true });
  succeeded(await runCli(['mount', url, mnt, '--background', '--log', join(work, `${label}.log`), '--cache-dir', join(work, `cache-${label}`), '--no-metrics', '--log-level', 'warn'], {}, 120_000), `mount ${label}`);
  try {
    assert.ok(isMounted(mnt));
    return await fn(mnt);
  } finally {
    const r = await runCli(['umount', mnt], {}, 120_000);
    if (r.code !== 0 && isMounted(mnt)) await ok('fusermount3', ['-uz', mnt]).catch(() => undefined);
  }
}

async function freshPg(label: string): Promise<string> {
  const db = await freshPgDatabase(label);
  cleanups.push(() => db.drop());
  return db.url;
}

async function freshLite(label: string): Promise<string> {
  const db = await freshPgliteUrl(label);
  cleanups.push(() => db.cleanup());
  return db.url;
}

before(async () => {
  work = await localDir('dump');
  src = await startMount('dump-src', { meta: 'pglite', data: 's3', trashDays: 1 });
  await bash(`bash '${POPULATE}'`, src.mnt);
  expected = await treeState(join(src.mnt, 'tree'));
  await writeFile(join(src.mnt, 'gone.txt'), TRASHED);
  await rm(join(src.mnt, 'gone.txt'));
  await src.stop();
  expectedTrash = await trashListing(src.metaUrl);
  succeeded(await runCli(['quota', 'set', src.metaUrl, '--path', '/tree', '--capacity', '1G', '--inodes', '10000']), 'quota set');
  expectedQuotas = await quotaListing(src.metaUrl);
  assert.equal((expectedQuotas as unknown[]).length, 1, 'the source volume has one directory quota');
  assert.equal((expectedTrash as { entries: unknown[] }).entries.length, 1, 'the source volume has one file in its trash');
});

after(async () => {
  await src?.cleanup();
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * The volume loaded at `url` is the source as it was: fsck healthy, the same tree (every inode,
 * stat, xattr, link and sha256), the same trash and the same directory quota, its usage exact.
 */
async function assertLoadedAsSource(url: string, label: string, what: string): Promise<void> {
  await assertHealthy(url);
  const tree = await withMount(url, label, (mnt) => treeState(join(mnt, 'tree')));
  assert.deepEqual(tree, expected, `the tree on ${what} differs`);
  assert.deepEqual(await trashListing(url), expectedTrash, `the trash of ${what} is as it was`);
  assert.deepEqual(await quotaListing(url), expectedQuotas, `the directory quota and its usage on ${what} are as they were`);
  succeeded(await runCli(['quota', 'check', url]), `quota check of ${what}`);
}

describe('dump and load', () => {
  test('PGlite → PostgreSQL → PGlite (gzip): fsck healthy, every inode, stat, xattr, link and sha256 identical', async () => {
    const first = join(work, 'first.jsonl');
    const dumped = succeeded(await runCli(['dump', src.metaUrl, first, '--json'], {}, 300_000), 'dump of PGlite');
    const summary = JSON.parse(dumped.stdout) as { rows: Record<string, number>; schema: number };
    assert.ok(summary.rows.node !== undefined && summary.rows.node > 15, `rows: ${dumped.stdout}`);
    assert.ok(!('session' in summary.rows) && !('job' in summary.rows), 'runtime tables are not dumped');
    const text = await readFile(first, 'utf8');
    assert.ok(!text.includes('S3_SECRET') && !text.includes(process.env['AWS_SECRET_ACCESS_KEY'] ?? '\u0000'), 'no secret in the dump');

    const pgUrl = await freshPg('dump-target');
    succeeded(await runCli(['load', pgUrl, first], {}, 300_000), 'load into PostgreSQL');
    await assertLoadedAsSource(pgUrl, 'pg', 'the loaded PostgreSQL volume');

    const second = join(work, 'second.jsonl.gz');
    succeeded(await runCli(['dump', pgUrl, second, '--gzip'], {}, 300_000), 'dump of PostgreSQL');
    const head = (await readFile(second)).subarray(0, 2);
    assert.deepEqual([...head], [0x1f, 0x8b], '--gzip writes gzip');
    const liteUrl = await freshLite('dump-back');
    succeeded(await runCli(['load', liteUrl, second], {}, 300_000), 'load of the gzip dump into PGlite');
    await assertLoadedAsSource(liteUrl, 'lite', 'the PGlite volume loaded back');
    succeeded(await runCli(['restore', liteUrl, '--all']), 'restore from the loaded trash');
    const restored = await withMount(liteUrl, 'restored', (mnt) => readFile(join(mnt, 'gone.txt')));
    assert.ok(restored.equals(TRASHED), 'a file restored from the loaded trash reads back its bytes');
  });

  test('load refuses a formatted database, a truncated dump and a damaged gzip, leaving the target unformatted', async () => {
    const dump = join(work, 'refusals.jsonl');
    succeeded(await runCli(['dump', src.metaUrl, dump]), 'dump');
    const intoFormatted = await runCli(['load', src.metaUrl, dump]);
    assert.equal(intoFormatted.code, 1);
    assert.match(intoFormatted.stderr, /^objectfs: .* is not empty/m);

    const lines = (await readFile(dump, 'utf8')).split('\n');
    const truncated = join(work, 'truncated.jsonl');
    await writeFile(truncated, lines.slice(0, Math.floor(lines.length / 2)).join('\n'));
    const target = await freshPg('dump-truncated');
    const r = await runCli(['load', target, truncated]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^objectfs: the dump ends after line \d+ without its end marker: it is truncated$/m);
    const status = await runCli(['status', target]);
    assert.equal(status.code, 1);
    assert.match(status.stderr, /holds no ObjectFS volume/, 'a failed load leaves the database unformatted');

    const gz = join(work, 'damaged.jsonl.gz');
    succeeded(await runCli(['dump', src.metaUrl, gz, '--gzip']), 'dump --gzip');
    const bytes = await readFile(gz);
    await writeFile(gz, bytes.subarray(0, bytes.length - 40));
    const damaged = await runCli(['load', target, gz]);
    assert.equal(damaged.code, 1);
    assert.match(damaged.stderr, /^objectfs: (the gzip stream is damaged or truncated|the dump ends after line)/m);

    // The same database takes the whole dump afterwards.
    succeeded(await runCli(['load', target, dump]), 'load after refusals');
    await assertHealthy(target);
  });

  test('a dump taken while a writer is busy loads into a volume fsck calls healthy', async () => {
    const busy = await startMount('dump-busy', { meta: 'postgres', data: 's3' });
    cleanups.push(() => busy.cleanup());
    // Creates, appends, hard links, renames, truncates and removes, without pause.
    const writer = spawn('bash', ['-c', `
      i=0
      while true; do
        i=$((i + 1)); p=$((i - 1)); q=$((i - 2)); r=$((i - 4)); x=$((r + 2))
        n=$((i % 7)); m=$((p % 7)); o=$((q % 7)); k=$((r % 7)); z=$((x % 7))
        mkdir -p d$n
        head -c $((i * 7919 % 300000)) /dev/urandom > d$n/f$i
        printf appended >> d$m/f$p 2>/dev/null || true
        ln d$n/f$i d$n/h$i
        mv d$o/f$q d$n/m$q 2>/dev/null || true
        truncate -s $((i % 5000)) d$m/h$p 2>/dev/null || true
        rm -f d$k/h$r d$z/m$r
      done`], { cwd: busy.mnt, stdio: 'ignore' });
    try {
      await sleep(2000);
      const dumps: string[] = [];
      for (let k = 0; k < 3; k++) {
        const file = join(work, `busy-${k}.jsonl`);
        succeeded(await runCli(['dump', busy.metaUrl, file], {}, 300_000), `busy dump ${k}`);
        dumps.push(file);
        await sleep(500);
      }
      assert.equal(writer.exitCode, null, 'the writer was still writing during the dumps');
      for (const [k, file] of dumps.entries()) {
        const target = await freshPg(`dump-busy-${k}`);
        succeeded(await runCli(['load', target, file], {}, 300_000), `load of busy dump ${k}`);
        await assertHealthy(target);
      }
    } finally {
      writer.kill('SIGKILL');
    }
  });
});
