/**
 * Real FUSE mounts for end-to-end tests: formats a fresh volume, runs `objectfs mount` in the
 * foreground as a child process (as a user would), waits until the kernel shows the mount, and
 * always gets it unmounted again (SIGTERM, then a lazy unmount if the daemon is gone or stuck).
 * Mount points live under os.tmpdir(), which the test runner points at its own directory and
 * sweeps for leftover mounts on any exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { isMounted } from '../../src/fuse/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshPgDatabase, freshPgliteUrl } from './pg.js';
import { testS3Url } from './s3.js';

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url));

export interface MountSpec {
  readonly meta?: 'postgres' | 'pglite';
  readonly data?: 's3' | 'file';
  readonly blockSize?: string;
  /** Days deleted files stay in the trash (default 0: the tests written before it expect deletions to free space at once). */
  readonly trashDays?: number;
  /** Extra arguments for `objectfs mount`. */
  readonly args?: readonly string[];
}

export interface TestMount {
  readonly mnt: string;
  readonly metaUrl: string;
  readonly storage: string;
  readonly dir: string;
  /** The daemon's log so far. */
  log(): string;
  /** Mounts the same volume again (after stop/kill), optionally at another point. */
  remount(args?: readonly string[]): Promise<void>;
  /** Clean stop: SIGTERM, waits for the daemon to commit and unmount. */
  stop(): Promise<void>;
  /** kill -9 of the daemon (the kernel mount goes away through auto_unmount). */
  kill(): Promise<void>;
  /** Stops everything and removes the volume. */
  cleanup(): Promise<void>;
}

/** Whether an ObjectFS mount is at `mnt` (the code's own check, src/fuse/mount-table.ts). */
export { isMounted };

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

export async function startMount(label: string, spec: MountSpec = {}): Promise<TestMount> {
  const dir = await mkdtemp(join(tmpdir(), `mnt-${label}-`));
  const mnt = join(dir, 'mnt');
  await mkdir(mnt);
  const db = spec.meta === 'pglite' ? await freshPgliteUrl(label) : await freshPgDatabase(label);
  const metaUrl = db.url;
  const storage = spec.data === 'file' ? `file://${dir}/blocks` : testS3Url(label);
  execFileSync(process.execPath, [BIN, 'format', metaUrl, 'vol', '--storage', storage, '--block-size', spec.blockSize ?? '1M', '--trash-days', String(spec.trashDays ?? 0)], { stdio: 'pipe' });
  let child: ChildProcess | undefined;
  let logText = '';
  const launch = async (args: readonly string[]) => {
    logText += `--- mount ${new Date().toISOString()}\n`;
    // No metrics endpoint unless a test asks for one (`--metrics` in args wins, being later).
    child = spawn(process.execPath, [BIN, 'mount', metaUrl, mnt, '--cache-dir', join(dir, 'cache'), '--log-level', 'warn', '--no-metrics', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (d: Buffer) => { logText += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { logText += d.toString(); });
    const c = child;
    let exited = false;
    c.on('exit', (code, signal) => { exited = true; logText += `--- daemon exited (code ${code}, signal ${signal})\n`; });
    await waitFor(() => isMounted(mnt) || exited, 60_000, `the mount at ${mnt}`);
    if (!isMounted(mnt)) throw new Error(`objectfs mount exited early:\n${logText}`);
  };
  const stopChild = async (signal: NodeJS.Signals) => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return; // gone already (a crash ends by signal)
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(signal);
    await Promise.race([exited, sleep(120_000, undefined, { ref: false })]); // unref: must not hold the test process open
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  };
  const detach = () => {
    if (!isMounted(mnt)) return;
    try { execFileSync('fusermount3', ['-uz', mnt], { stdio: 'ignore' }); } catch { /* gone already */ }
  };
  await launch(spec.args ?? []);
  const stop = async () => {
    await stopChild('SIGTERM');
    await waitFor(() => !isMounted(mnt), 10_000, `${mnt} to go away`).catch(detach);
  };
  return {
    mnt, metaUrl, storage, dir,
    log: () => logText,
    remount: (args) => launch(args ?? spec.args ?? []),
    stop,
    async kill() {
      await stopChild('SIGKILL');
      await waitFor(() => !isMounted(mnt), 5_000, `auto_unmount of ${mnt}`).catch(detach);
    },
    async cleanup() {
      await stop().catch(() => undefined);
      detach();
      await ('drop' in db ? db.drop() : db.cleanup()).catch(() => undefined);
      await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
