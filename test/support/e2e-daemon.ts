/**
 * `objectfs mount` daemons started by a test itself (mounted.ts starts one per volume and only
 * stops it with SIGTERM): extra mounts of the same volume, signals of the test's choosing, and
 * access to the pid. Every daemon is recorded so `killAll()` (in an `after` hook) leaves no
 * process and no mount behind, whatever the test did.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMounted } from './mounted.js';
import { inNetns } from './pg-tools.js';

export const OBJECTFS_BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

export interface Daemon {
  readonly pid: number;
  readonly mnt: string;
  readonly child: ChildProcess;
  /** stdout + stderr so far. */
  log(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started = new Set<{ pid: number; mnt: string }>();

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with `value` after `ms` without keeping the process alive. */
export function timeout<T>(ms: number, value: T): Promise<T> {
  return sleep(ms, value, { ref: false });
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return true;
    await sleep(50);
  }
  return cond();
}

/**
 * Starts `objectfs mount META MNT ARGS…` in the foreground and waits until the kernel shows the
 * mount; with `netns`, in that network namespace only (the mount stays visible here).
 */
export async function startDaemon(metaUrl: string, mnt: string, cacheDir: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}, netns?: string): Promise<Daemon> {
  // A dead mount left at `mnt` answers ENOTCONN: the daemon itself has to clear it.
  await mkdir(mnt, { recursive: true }).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOTCONN') throw e; });
  // --log-level info: the "mounted" line is how startDaemon knows the mount is up.
  // No metrics endpoint unless a test asks for one (`--metrics` in args wins, being later).
  const [cmd = process.execPath, ...argv] = [...inNetns(netns), process.execPath, OBJECTFS_BIN, 'mount', metaUrl, mnt, '--cache-dir', cacheDir, '--log-level', 'info', '--no-metrics', ...args];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => { text += d.toString(); });
  child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  let how = '';
  void exited.then((e) => { done = true; how = ` (exited: code ${e.code}, signal ${e.signal})`; });
  if (child.pid === undefined) throw new Error('spawn failed');
  started.add({ pid: child.pid, mnt });
  // Up means: the daemon said so, and the mount answers. A dead mount being replaced is in
  // /proc/mounts too (and stat of its root may even be served from the kernel's cache).
  const live = async () => /"msg":"mounted"/.test(text) && isMounted(mnt) && (await stat(mnt).then(() => true, () => false));
  await waitFor(async () => done || (await live()), 60_000);
  if (!(await live())) throw new Error(`objectfs mount of ${mnt} did not come up${how}:\n${text}`);
  return { pid: child.pid, mnt, child, log: () => text, exited };
}

/** Pids of the direct children of `pid` whose command name is `comm`. */
export async function childrenNamed(pid: number, comm: string): Promise<number[]> {
  const out: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(join('/proc', entry, 'stat'), 'utf8').catch(() => '');
    // pid (comm) state ppid …; comm may hold spaces, so split after the last ')'.
    const m = /^\d+ \((.*)\) \S+ (\d+)/s.exec(stat);
    if (m?.[1] === comm && Number(m[2]) === pid) out.push(Number(entry));
  }
  return out;
}

/** Records a daemon started some other way (e.g. `mount --background`) for killAll(). */
export function track(pid: number, mnt: string): void {
  started.add({ pid, mnt });
}

/** SIGKILLs every daemon still alive and lazily unmounts every mount point used. */
export async function killAll(): Promise<void> {
  for (const d of started) {
    if (alive(d.pid)) process.kill(d.pid, 'SIGKILL');
    await waitFor(() => !alive(d.pid), 5000);
    if (isMounted(d.mnt)) {
      try { execFileSync('fusermount3', ['-uz', d.mnt], { stdio: 'ignore' }); } catch { /* gone already */ }
    }
  }
  started.clear();
}
