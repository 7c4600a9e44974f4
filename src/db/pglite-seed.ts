/**
 * A new embedded database starts as a copy of a pristine PGlite data directory kept in the
 * user's cache, one per PGlite release. PGlite makes a data directory by running PostgreSQL's
 * initdb in WebAssembly: about 3 s and 4.7 s of CPU on a 2-vCPU machine, where copying its result
 * (39 MB, about 1,000 files) takes 0.1–0.7 s. The first new database of a PGlite release pays the
 * initdb once, into the cache (processes arriving meanwhile wait for it); later ones copy.
 *
 * The copy is an optimisation, never a requirement: without a usable cache directory, or when
 * anything fails, the caller lets PGlite run initdb in place as before.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { acquireDirLock, DirLockedError, LOCK_FILE, type DirLock } from './dir-lock.js';

const run = promisify(execFile);

/** Files an embedded database directory holds besides PostgreSQL's own. */
const OWN_FILES = new Set([LOCK_FILE]);

/** `$XDG_CACHE_HOME/objectfs`, else `~/.cache/objectfs`; undefined without either. */
export function seedCacheRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'objectfs');
  const home = env['HOME'];
  return home !== undefined && isAbsolute(home) ? join(home, '.cache', 'objectfs') : undefined;
}

/** The installed PGlite's version, from its package.json (the package does not export it). */
function pgliteVersion(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.resolve('@electric-sql/pglite')));
  for (let i = 0; i < 4; i++, dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@electric-sql/pglite') return pkg.version;
  }
  return undefined;
}

/** How long a process waits for another one making the pristine directory (initdb: about 3 s). */
const MAKE_WAIT_MS = 60_000;

/** The pristine data directory for this PGlite, made on first use; undefined if it cannot be. */
async function pristineDir(cacheRoot: string): Promise<string | undefined> {
  const version = pgliteVersion();
  if (version === undefined || !/^[0-9A-Za-z.+-]+$/.test(version)) return undefined;
  const pristine = join(cacheRoot, `pglite-${version}-initdb`);
  const made = () => existsSync(join(pristine, 'PG_VERSION'));
  if (made()) return pristine;
  await mkdir(cacheRoot, { recursive: true });
  // One process makes it while the others wait, rather than each running initdb beside it.
  for (const giveUp = Date.now() + MAKE_WAIT_MS; ;) {
    let lock: DirLock;
    try {
      lock = await acquireDirLock(cacheRoot);
    } catch (err) {
      if (!(err instanceof DirLockedError) || Date.now() > giveUp) throw err;
      await sleep(100);
      if (made()) return pristine;
      continue;
    }
    try {
      if (!made()) await makePristine(cacheRoot, pristine);
      return pristine;
    } finally {
      await lock.release();
    }
  }
}

/**
 * initdb into a temporary directory renamed into place, so a directory under the final name is
 * always whole. Called under the cache's lock: a temporary directory found here was left by a
 * process killed while making one.
 */
async function makePristine(cacheRoot: string, pristine: string): Promise<void> {
  for (const name of await readdir(cacheRoot)) {
    if (name.startsWith('pglite-') && name.endsWith('.tmp')) await rm(join(cacheRoot, name), { recursive: true, force: true });
  }
  const making = `${pristine}.${process.pid}.tmp`;
  try {
    const lite = new PGlite(making);
    await lite.waitReady;
    await lite.close();
    await rename(making, pristine);
  } catch (err) {
    await rm(making, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Fills the new database directory `dir` with a copy of the pristine one when `dir` holds
 * nothing but our own files. Returns whether it did; on false `dir` is as it was and PGlite's
 * initdb applies.
 */
export async function seedDataDir(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const cacheRoot = seedCacheRoot(env);
  if (cacheRoot === undefined) return false;
  // Only a directory holding nothing else: what it held is never overwritten or cleared below.
  if ((await readdir(dir)).some((name) => !OWN_FILES.has(name))) return false;
  try {
    const pristine = await pristineDir(cacheRoot);
    if (pristine === undefined) return false;
    // cp(1) copies without the JavaScript thread, and clones where the filesystem can.
    await run('cp', ['-a', '--reflink=auto', '--', `${pristine}/.`, dir]);
    return true;
  } catch {
    // A partial copy must not be taken for a database: back to the empty directory.
    for (const name of await readdir(dir).catch(() => [])) {
      if (!OWN_FILES.has(name)) await rm(join(dir, name), { recursive: true, force: true });
    }
    return false;
  }
}
