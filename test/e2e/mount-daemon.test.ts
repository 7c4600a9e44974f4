/**
 * The mount daemon against hostile use (issue 16, items 1, 4 and 8), on the test bed's
 * PostgreSQL and S3:
 *  - a second `objectfs mount` on a live ObjectFS mount point is refused up front (exit 1, also
 *    with --background), and the first mount keeps serving reads and writes;
 *  - `objectfs umount` returns only once the daemon process has exited, and fails saying so when
 *    its --timeout runs out first;
 *  - the database password never reaches a command line: a --background daemon gets the URL on
 *    its standard input, `--meta-url-file` keeps it off the foreground mount's, and a password
 *    given on the command line is warned about once;
 *  - a daemon's log file is reopened on SIGUSR1, sent by the shipped logrotate configuration
 *    (issue 15, item 8), and holds no runtime warning.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startMount, isMounted, type TestMount } from '../support/mounted.js';
import { alive, killAll, startDaemon, track, waitFor, OBJECTFS_BIN } from '../support/e2e-daemon.js';
import { mountsAt } from '../../src/fuse/index.js';
import { bash, run } from '../support/e2e-sh.js';

let vol: TestMount;
let runtimeDir: string;
let n = 0;

function place(label: string): { mnt: string; cache: string; log: string } {
  n++;
  return { mnt: join(vol.dir, `${label}-${n}`), cache: join(vol.dir, `cache-${label}-${n}`), log: join(vol.dir, `${label}-${n}.log`) };
}

const env = () => ({ OBJECTFS_RUNTIME_DIR: runtimeDir });

function cli(args: readonly string[]) {
  return run(process.execPath, [OBJECTFS_BIN, ...args], { env: env(), timeoutMs: 180_000 });
}

/** `objectfs mount --background` at `p`, which must succeed; the daemon is tracked for cleanup. */
async function mountInBackground(p: { mnt: string; cache: string; log: string }, metaUrl = vol.metaUrl): Promise<{ r: Awaited<ReturnType<typeof cli>>; pid: number }> {
  const r = await cli(['mount', '--background', '--log', p.log, '--cache-dir', p.cache, '--no-metrics', metaUrl, p.mnt]);
  const pid = Number(/daemon pid (\d+)/.exec(r.stdout)?.[1]);
  if (pid > 0) track(pid, p.mnt);
  assert.equal(r.code, 0, r.stderr);
  return { r, pid };
}

/** Running, and not a zombie waiting for a parent that does not reap it. */
function running(pid: number): boolean {
  if (!alive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pid and command line of every process whose command line or environment holds `text`. */
async function processesHolding(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    for (const file of ['cmdline', 'environ']) {
      const content = await readFile(join('/proc', entry, file), 'latin1').catch(() => '');
      if (content.includes(text)) found.push(`${entry} ${file}: ${content.replace(/\0/g, ' ').slice(0, 300)}`);
    }
  }
  return found;
}

before(async () => {
  vol = await startMount('daemon', { meta: 'postgres', data: 's3' });
  await bash(`printf 'base file' > base`, vol.mnt);
  await vol.stop();
  runtimeDir = await mkdtemp(join(vol.dir, 'run-'));
});

after(async () => {
  await killAll();
  await vol?.cleanup();
});

describe('a second mount on a live mount point', () => {
  test('is refused with exit 1, in the foreground and with --background, and the first keeps serving', async () => {
    const first = place('busy');
    const a = await startDaemon(vol.metaUrl, first.mnt, first.cache, [], env());
    await bash(`printf before > before`, first.mnt);
    const other = place('busy-other');
    const fg = await cli(['mount', vol.metaUrl, first.mnt, '--cache-dir', other.cache, '--no-metrics']);
    assert.equal(fg.code, 1, `foreground: ${fg.stdout}${fg.stderr}`);
    assert.match(fg.stderr, new RegExp(`${first.mnt} is already an ObjectFS mount \\(daemon pid ${a.pid}\\)`));
    const bg = await cli(['mount', '--background', '--log', other.log, vol.metaUrl, first.mnt, '--cache-dir', other.cache, '--no-metrics']);
    const strayPid = Number(/daemon pid (\d+)/.exec(bg.stdout)?.[1]);
    if (strayPid > 0) track(strayPid, first.mnt);
    assert.equal(bg.code, 1, `--background: ${bg.stdout}${bg.stderr}`);
    assert.match(bg.stderr, /is already an ObjectFS mount/);
    // The daemon notices an unmount within 2 s: give it longer than that to show any damage.
    await sleep(3000);
    assert.ok(running(a.pid), `the first daemon lives:\n${a.log()}`);
    assert.doesNotMatch(a.log(), /"msg":"unmounting"/);
    assert.equal(mountsAt(first.mnt).length, 1, 'one mount at the mount point');
    await bash(`printf after > after && cat before after base > all`, first.mnt);
    assert.equal(await readFile(join(first.mnt, 'all'), 'utf8'), 'beforeafterbase file');
    a.child.kill('SIGTERM');
    assert.deepEqual(await a.exited, { code: 0, signal: null }, a.log());
  });
});

describe('objectfs umount', () => {
  test('returns once the daemon process has exited and its pid is gone', async () => {
    const p = place('umount');
    const { pid } = await mountInBackground(p);
    await bash(`head -c 8000000 /dev/urandom > data`, p.mnt);
    const started = Date.now();
    const u = await cli(['umount', p.mnt]);
    // Not even a zombie: the pid no longer exists (kill -0 fails).
    const stillThere = alive(pid);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /unmounted/);
    assert.equal(stillThere, false, `the daemon's pid ${pid} still existed when umount returned after ${Date.now() - started} ms`);
    assert.equal(isMounted(p.mnt), false);
    assert.match(await readFile(p.log, 'utf8'), /"msg":"stopped"/);
  });
});

describe('objectfs umount --timeout', () => {
  test('that runs out first fails (exit 1) saying the daemon has not finished; the daemon still exits', async () => {
    const p = place('umount-timeout');
    const { pid } = await mountInBackground(p);
    const u = await cli(['umount', '--timeout', '1ms', p.mnt]);
    assert.equal(u.code, 1, `${u.stdout}${u.stderr}`);
    assert.match(u.stderr, new RegExp(`the daemon \\(pid ${pid}\\) (did not finish within|is still finishing after)`));
    assert.ok(await waitFor(() => !alive(pid), 30_000), 'the daemon finishes on its own');
    assert.equal(isMounted(p.mnt), false);
  });
});

describe('the database password', () => {
  const secret = `pw-${randomBytes(6).toString('hex')}`;
  const withPassword = () => vol.metaUrl.replace(/^postgres:\/\/([^@:]+)@/, `postgres://$1:${secret}@`);

  test('is on no command line of a --background daemon (it reads the URL from its standard input)', async () => {
    const url = withPassword();
    assert.ok(url.includes(secret), `the test URL carries the password: ${vol.metaUrl}`);
    const p = place('secret-bg');
    const { r, pid } = await mountInBackground(p, url);
    assert.equal(r.stderr.match(/holds a password/g)?.length, 1, `one warning for the password on the command line: ${r.stderr}`);
    assert.deepEqual(await processesHolding(secret), [], 'no process shows the password');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    assert.ok(cmdline.includes('--meta-url-file') && cmdline.includes('-'), `the daemon reads the URL from stdin: ${cmdline.join(' ')}`);
    assert.equal(await readFile(join(p.mnt, 'base'), 'utf8'), 'base file', 'the daemon connected with the URL it was given');
    const u = await cli(['umount', p.mnt]);
    assert.equal(u.code, 0, u.stderr);
    assert.doesNotMatch(await readFile(p.log, 'utf8'), new RegExp(secret), 'nor does its log');
  });

  test('--meta-url-file keeps it off the foreground mount\'s command line, without a warning', async () => {
    const p = place('secret-file');
    await mkdir(p.mnt, { recursive: true });
    const urlFile = join(vol.dir, 'meta-url');
    await writeFile(urlFile, `${withPassword()}\n`, { mode: 0o600 });
    const child = spawn(process.execPath, [OBJECTFS_BIN, 'mount', '--meta-url-file', urlFile, p.mnt, '--cache-dir', p.cache, '--log-level', 'info', '--no-metrics'], { env: { ...process.env, ...env() }, stdio: ['ignore', 'pipe', 'pipe'] });
    assert.ok(child.pid !== undefined);
    track(child.pid, p.mnt);
    let text = '';
    child.stdout.on('data', (d: Buffer) => { text += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { text += d.toString(); });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    assert.ok(await waitFor(() => /"msg":"mounted"/.test(text) || child.exitCode !== null, 60_000), text);
    assert.equal(await readFile(join(p.mnt, 'base'), 'utf8'), 'base file', text);
    assert.deepEqual(await processesHolding(secret), []);
    assert.doesNotMatch(text, /holds a password/);
    child.kill('SIGTERM');
    await exited;
  });

  test('on the foreground mount\'s command line is warned about once, pointing to the alternatives', async () => {
    const p = place('secret-fg');
    const d = await startDaemon(withPassword(), p.mnt, p.cache, [], env());
    const warnings = d.log().split('\n').filter((l) => /holds a password/.test(l));
    assert.equal(warnings.length, 1, d.log());
    assert.match(warnings[0]!, /PGPASSWORD/);
    assert.match(warnings[0]!, /~\/\.pgpass/);
    assert.match(warnings[0]!, /--meta-url-file/);
    assert.doesNotMatch(d.log().replace(warnings[0]!, ''), new RegExp(secret));
    d.child.kill('SIGTERM');
    await d.exited;
  });
});

/** The postrotate script of config/objectfs.logrotate, run for this test's runtime directory. */
async function postrotate(): Promise<void> {
  const config = await readFile(fileURLToPath(new URL('../../../config/objectfs.logrotate', import.meta.url)), 'utf8');
  const script = /^\s*postrotate\n([\s\S]*?)^\s*endscript/m.exec(config)?.[1] ?? '';
  assert.ok(script.includes('/run/objectfs/'), `a postrotate script naming the runtime directory:\n${config}`);
  const r = await run('sh', ['-c', script.replaceAll('/run/objectfs/', `${runtimeDir}/`)], { env: env(), timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
}

describe('the log file of a --background daemon', () => {
  test('is reopened on the shipped logrotate script\'s SIGUSR1: after a rotation the new file gets the new lines', async () => {
    const p = place('logrotate');
    const { pid } = await mountInBackground(p);
    const rotated = `${p.log}.1`;
    await rename(p.log, rotated);
    await postrotate();
    assert.ok(await waitFor(() => existsSync(p.log) && /log file reopened/.test(readFileSync(p.log, 'utf8')), 10_000),
      `the daemon reopened its log:\n${await readFile(rotated, 'utf8')}`);
    assert.ok(running(pid), 'SIGUSR1 did not end the daemon');
    const u = await cli(['umount', p.mnt]); // logs "unmounting" and "stopped"
    assert.equal(u.code, 0, u.stderr);
    const before = await readFile(rotated, 'utf8');
    const after = await readFile(p.log, 'utf8');
    assert.match(before, /"msg":"mounted"/);
    assert.doesNotMatch(before, /"msg":"(unmounting|stopped)"/);
    assert.match(after, /"msg":"stopped"/);
    for (const text of [before, after]) {
      assert.doesNotMatch(text, /^\(node:\d+\)|Warning:|Debugger listening/m, 'no runtime warning, no inspector');
    }
  });
});
