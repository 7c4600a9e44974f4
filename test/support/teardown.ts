/**
 * Teardown of the test bed, shared by the runner (normal exit, failure, SIGINT/SIGTERM) and the
 * reaper (runner vanished, e.g. SIGKILL). Everything here is synchronous so it can run from a
 * signal handler, and best-effort: each step returns warnings instead of throwing, so one failed
 * step never stops the next one from running.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** How to reach a PostgreSQL cluster that the runner created (and must stop). */
export interface PgCluster {
  readonly pgCtl: string;
  readonly dataDir: string;
  /** Run pg_ctl as this user (via runuser); undefined = as ourselves. */
  readonly runAs?: string;
  /** Run the server in this network namespace (/run/netns/NAME); undefined = ours. */
  readonly netns?: string;
}

/** Everything the runner started; each field is set as soon as the thing may exist. */
export interface BedState {
  tmpRoot?: string;
  pg?: PgCluster;
  s3Pid?: number;
  /** Process group of `node --test` (it is spawned detached), so its file subprocesses die too. */
  testPgid?: number;
  /**
   * Further processes to SIGKILL (e.g. mount daemons a multi-host test started in namespaces),
   * each only if its command line still contains `marker` (its pid may have been reused).
   */
  pids?: { pid: number; marker: string }[];
  /** Network namespaces and links whose names start with this were made by the bed: all are deleted. */
  netnsPrefix?: string;
}

/** Runs a command quietly; true when it exited 0. */
function run(cmd: string, args: readonly string[], timeoutMs = 30_000): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: timeoutMs });
  return r.status === 0;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGKILLs a whole process group; silently ignores one that is already gone. */
export function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // ESRCH: the group has already exited; nothing else can go wrong with our own children.
  }
}

/** Mount points at or under `root`, deepest first (octal escapes of mountinfo decoded). */
export function mountsUnder(root: string): string[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const raw = line.split(' ')[4];
    if (raw === undefined) continue;
    const mp = raw.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (mp === root || mp.startsWith(root + '/')) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Lazily unmounts every (FUSE) mount under `root`, so removing `root` cannot recurse into one. */
export function unmountUnder(root: string): string[] {
  const warnings: string[] = [];
  for (const mp of mountsUnder(root)) {
    const ok =
      run('fusermount', ['-uz', mp]) || run('fusermount3', ['-uz', mp]) || run('umount', ['-l', mp]);
    if (!ok) warnings.push(`could not unmount ${mp}`);
  }
  return warnings;
}

/** Stops a cluster with `pg_ctl stop -m immediate`; SIGKILLs the postmaster if that fails. */
export function stopPg(pg: PgCluster): string[] {
  const pidFile = join(pg.dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return [];
  const args = ['-D', pg.dataDir, '-m', 'immediate', '-w', '-t', '20', 'stop'];
  const ok =
    pg.runAs === undefined
      ? run(pg.pgCtl, args)
      : run('runuser', ['-u', pg.runAs, '--', pg.pgCtl, ...args]);
  if (ok || !existsSync(pidFile)) return [];
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // raced with its own exit
    }
    return [`pg_ctl stop failed; sent SIGKILL to postmaster ${pid}`];
  }
  return [];
}

/**
 * Deletes every network namespace and link whose name starts with `prefix` (links in the root
 * namespace: bridges and veth ends; deleting a namespace deletes the veth ends inside it).
 */
export function removeNetworks(prefix: string): string[] {
  if (prefix.length < 4) return [`refusing to delete networks by the short prefix "${prefix}"`];
  const warnings: string[] = [];
  const list = (args: string[]): string[] => {
    const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
    return r.status === 0 ? r.stdout.split('\n') : [];
  };
  const links = (): string[] => list(['-o', 'link', 'show']).map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1] ?? '').filter((n) => n.startsWith(prefix));
  // Links first (deleting a veth end deletes its peer in a namespace), then the namespaces.
  for (const name of links()) run('ip', ['link', 'delete', name]);
  for (const name of links()) warnings.push(`could not delete link ${name}`);
  const namespaces = (): string[] => list(['netns', 'list']).map((line) => line.split(' ')[0] ?? '').filter((n) => n.startsWith(prefix));
  for (const name of namespaces()) run('ip', ['netns', 'delete', name]);
  // Another teardown (a reaper) may have deleted some meanwhile: warn only about what is left.
  for (const name of namespaces()) warnings.push(`could not delete network namespace ${name}`);
  return warnings;
}

/**
 * Takes the whole bed down: the test process group, further processes, FUSE mounts, PostgreSQL,
 * s3rver, network namespaces and the temp root (in that order: nothing may still write into the
 * root when it is removed).
 */
export function teardown(state: BedState): string[] {
  const warnings: string[] = [];
  if (state.testPgid !== undefined) killGroup(state.testPgid);
  for (const { pid, marker } of state.pids ?? []) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(marker)) process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  let root = state.tmpRoot;
  if (root !== undefined && existsSync(root)) {
    root = realpathSync(root);
    warnings.push(...unmountUnder(root));
  }
  if (state.pg !== undefined) warnings.push(...stopPg(state.pg));
  if (state.s3Pid !== undefined && isAlive(state.s3Pid)) {
    try {
      process.kill(state.s3Pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (state.netnsPrefix !== undefined) warnings.push(...removeNetworks(state.netnsPrefix));
  if (root !== undefined) {
    try {
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      warnings.push(`could not remove ${root}: ${(e as Error).message}`);
    }
  }
  return warnings;
}
