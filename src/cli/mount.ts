/**
 * `objectfs mount META_URL MOUNTPOINT`: settings from flags, OBJECTFS_* variables and an
 * optional YAML file (--config), then either serves the mount in the foreground
 * (mount-serve.ts) or, with `--background`, starts the same command detached with its log in
 * a file and returns once the mount is up (or fails with the daemon's last log lines).
 * A mount point that a live ObjectFS mount serves is refused before either. The daemon gets
 * the metadata URL on its standard input, never on its command line (which `ps` shows).
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { CliError } from '../errors.js';
import { daemonOf, isMounted } from '../fuse/index.js';
import { LOG_LEVELS } from '../util/log.js';
import { ConfigError, parseSetting, settingKey, SETTINGS, STORAGE_CLASSES, type SettingKey } from '../config/schema.js';
import { readConfigFile, resolveSettings, type RawSettings, type Resolved } from '../config/load.js';
import { byteSizeOption, durationOption, positiveIntOption, subdirOption, wholeNumberOption } from './options.js';
import { EXIT_FAILURE, EXIT_USAGE } from './errors.js';
import { metaUrlAndOperand } from './meta-url.js';
import { refuseLiveMount } from './mount-busy.js';
import { MountWait, readRecoveryRecord } from './mount-record.js';

/** The objectfs executable (the background daemon is started through it). */
const BIN = fileURLToPath(new URL('./bin.js', import.meta.url));
/** How long `mount --background` waits for its daemon to mount (or to move on with leftovers). */
const MOUNT_WAIT_MS = 120_000;

/** Raw values of settings, writable (filled from flags and -o items). */
export type MountFlags = { -readonly [K in SettingKey]?: unknown } & { options?: string[]; background?: boolean; config?: string; json?: boolean; metaUrlFile?: string };

function ratioOption(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n >= 1) throw new InvalidArgumentError(`"${value}" is not a ratio in [0, 1)`);
  return n;
}

function collectOptions(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter((s) => s !== '')];
}

function choiceOption(choices: readonly string[], upper = false) {
  return (value: string): string => {
    const v = upper ? value.toUpperCase() : value;
    if (!choices.includes(v)) throw new InvalidArgumentError(`one of ${choices.join(', ')}`);
    return v;
  };
}

/** Options of mount(8) and fstab that are not FUSE options. */
const MOUNT_ONLY = new Set(['rw', 'defaults', 'auto', 'noauto', 'user', 'nouser', 'users', '_netdev', 'nofail', 'suid', 'nosuid', 'dev', 'nodev', 'exec', 'noexec', 'async', 'atime', 'noatime', 'relatime']);

/**
 * Splits `-o` items into ObjectFS settings (written into `flags`, validated) and libfuse
 * options (returned). Any setting can be given as `name=value` (`cache-size=1G`,
 * `attr_timeout=0`); `ro` is read-only, a bare boolean name (`allow_other`) is true, and
 * `config=FILE` names the configuration file (for fstab).
 */
export function splitMountOptions(items: readonly string[], flags: MountFlags): string[] {
  const fuse: string[] = [];
  for (const item of items) {
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? undefined : item.slice(eq + 1);
    if (MOUNT_ONLY.has(name)) continue;
    if (name === 'config' && value !== undefined) {
      flags.config = value;
      continue;
    }
    const key = name === 'ro' ? 'readOnly' : settingKey(name);
    if (key !== undefined && (value !== undefined || SETTINGS[key].kind === 'bool')) {
      flags[key] = parseSetting(key, value ?? true, `-o ${name}`);
    } else {
      fuse.push(item);
    }
  }
  return fuse;
}

/** `argv`: the arguments the program was run with (the daemon is started with the same). */
export function registerMount(program: Command, argv: readonly string[]): void {
  program.command('mount')
    .description('mount a volume with FUSE (foreground unless --background)')
    .usage('[options] META_URL MOUNTPOINT\n       objectfs mount [options] --meta-url-file FILE MOUNTPOINT')
    .argument('<META_URL>', 'metadata URL of the volume (left out with --meta-url-file)')
    .argument('[MOUNTPOINT]', 'directory to mount on (created if missing)')
    .option('--meta-url-file <FILE>', 'read the metadata URL from FILE (- for standard input) instead of the command line, where every user can see it in ps')
    .option('--config <FILE>', 'YAML settings file (see config/objectfs.example.yaml); reloaded on SIGHUP and when it changes')
    .option('-d, --background', 'run as a daemon; logs go to --log')
    .option('--json', 'with --background: print the mount point, daemon pid and log file as JSON')
    .option('--log <FILE>', 'log file, reopened on SIGUSR1 for logrotate (default: stderr; with --background /var/log/objectfs.log as root, else ./objectfs.log)')
    .option('--log-level <LEVEL>', `one of ${LOG_LEVELS.join(', ')} (default info)`, choiceOption(LOG_LEVELS))
    .option('--metrics <HOST:PORT>', 'serve Prometheus metrics at http://HOST:PORT/metrics (default 127.0.0.1:9567)')
    .option('--no-metrics', 'no metrics endpoint (the .stats file stays)')
    .option('--read-only', 'mount read-only')
    .option('--attr-timeout <DURATION>', 'kernel attribute cache timeout: 500ms, 2s, or seconds (default 1s; changes from other hosts are pushed into the kernel sooner)', durationOption)
    .option('--entry-timeout <DURATION>', 'kernel name cache timeout (default 1s)', durationOption)
    .option('--negative-timeout <DURATION>', 'kernel cache of missing names (default 1s; 0 also stops the daemon answering missing names of directories made or listed here)', durationOption)
    .option('--allow-other', 'let other users access the mount (the default as root; non-root mounts need user_allow_other)')
    .option('--no-allow-other', 'only the mounting user may access the mount')
    .option('--writeback-cache', "the kernel's writeback cache (default off: see docs/decisions.md)")
    .option('--subdir <VOLUME_PATH>', "mount this directory of the volume (/a/b, from the volume's root; no ..) as the root of the mount; it must exist (default: the whole volume)", subdirOption)
    .option('-o, --options <LIST>', 'comma-separated mount options: ro, allow_other, any setting as name=value (cache-size=1G), or libfuse options', collectOptions)
    .option('--buffer-size <SIZE>', 'write buffer bound (default 300M)', byteSizeOption)
    .option('--writeback', 'write-back: close returns once the data is staged (fsynced) in the cache directory and committed; uploads follow in the background and finish at the next mount after a crash; fsync still waits for them (needs the disk cache; see docs/semantics.md)')
    .option('--writeback-limit <SIZE>', 'bound of the write-back stage; closes wait while it is full (default a tenth of --cache-size)', byteSizeOption)
    .option('--cache-dir <DIR>', 'disk block cache directory (default /var/cache/objectfs)')
    .option('--no-disk-cache', 'keep blocks in memory only')
    .option('--cache-size <SIZE>', 'disk cache bound (default 10G)', byteSizeOption)
    .option('--memory-cache-size <SIZE>', 'memory cache bound (default 256M)', byteSizeOption)
    .option('--free-space-ratio <R>', 'keep this fraction of the cache disk free (default 0.1)', ratioOption)
    .option('--upload-concurrency <N>', 'block uploads in flight (default 16)', wholeNumberOption)
    .option('--download-concurrency <N>', 'block downloads in flight (default 16)', wholeNumberOption)
    .option('--upload-limit <SIZE>', 'upload rate limit per second (default 0 = none)', byteSizeOption)
    .option('--download-limit <SIZE>', 'download rate limit per second (default 0 = none)', byteSizeOption)
    .option('--readahead <SIZE>', 'largest readahead window (default 32M)', byteSizeOption)
    .option('--prefetch-dir', 'fetch the small files (one block or less) of every listed directory into the caches in the background (default off)')
    .option('--delete-delay <DURATION>', 'safety delay before released objects are deleted: 30m, 2h, or seconds (default 1h)', durationOption)
    .option('--io-retries <N>', 'attempts per object-store request before it fails with EIO (default 6: at most about 6 s of backoff)', wholeNumberOption)
    .option('--meta-retry-timeout <DURATION>', 'how long a metadata operation retries while PostgreSQL is unreachable before it fails with EIO: 30s, 5m, or seconds (default 60s)', durationOption)
    .option('--session-timeout <DURATION>', 'how long after its last heartbeat this mount is taken for dead by the others (its session ended, its locks released): 20s, 2m, or seconds (default 60s)', durationOption)
    .option('--backup-meta <DURATION>', 'upload a gzip dump of the metadata into the bucket (meta-backup/) this often; one live mount of the volume at a time does it: 30m, 1h (default 1h; 0 = never)', durationOption)
    .option('--backup-keep <N>', 'metadata backups kept in the bucket (default 7)', positiveIntOption)
    .option('--storage-class <CLASS>', `S3 storage class of new objects (default: the volume's, else the bucket's): ${STORAGE_CLASSES.join(', ')}`, choiceOption(STORAGE_CLASSES, true))
    .action(async (first: string, second: string | undefined, flags: MountFlags, cmd: Command) => {
      const given = givenFlags(flags, cmd);
      const fuseOptions = asUsageError(() => splitMountOptions(flags.options ?? [], given));
      const configOption = flags.config ?? (typeof given.config === 'string' ? given.config : undefined);
      const configFile = configOption === undefined ? undefined : resolve(configOption);
      const resolved = await settingsFrom(configFile, given);
      const { metaUrl, operand } = metaUrlAndOperand(first, second, flags.metaUrlFile, 'missing MOUNTPOINT (objectfs mount META_URL MOUNTPOINT)');
      const mountPoint = operand as string;
      const mnt = resolve(mountPoint);
      await refuseLiveMount(mnt);
      if (flags.background) {
        await startDaemon(daemonArgs(argv, metaUrl), metaUrl, mnt, resolved.settings.log, flags.json === true);
        return;
      }
      // The daemon's code (the volume, FUSE, S3, the database) is loaded only by the process that serves.
      const { serve } = await import('./mount-serve.js');
      await serve({ metaUrl, mountPoint: mnt, fuseOptions, resolved, configFile, reload: () => settingsFrom(configFile, given) });
    });
}

/**
 * The daemon's arguments: this program's own (not process.argv, which may be the mount(8)
 * helper's) without the background switch and without the metadata URL, which it reads from
 * standard input instead (`--meta-url-file -`).
 */
export function daemonArgs(argv: readonly string[], metaUrl: string): string[] {
  const out: string[] = [];
  let urlDropped = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-d' || a === '--background' || a.startsWith('--meta-url-file=')) continue;
    if (a === '--meta-url-file') {
      i++;
      continue;
    }
    if (!urlDropped && a === metaUrl) {
      urlDropped = true;
      continue;
    }
    out.push(a);
  }
  return [...out, '--meta-url-file', '-'];
}

/** The settings given as flags (not commander's defaults). */
function givenFlags(flags: MountFlags, cmd: Command): MountFlags {
  const given: MountFlags = {};
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    if (cmd.getOptionValueSource(key) === 'cli') given[key] = flags[key];
  }
  return given;
}

/** A bad setting is a usage error (exit 2) with its one-line message. */
function asUsageError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(EXIT_USAGE, 'ECONFIG', err.message, { cause: err });
    throw err;
  }
}

/** Reads the file (if any) and resolves flags over environment over file. */
async function settingsFrom(configFile: string | undefined, flags: RawSettings): Promise<Resolved> {
  const file = configFile === undefined ? undefined : await readConfigFile(configFile).catch((err: unknown) => asUsageError(() => { throw err; }));
  const resolved = asUsageError(() => resolveSettings({ file, flags, env: process.env }));
  if (resolved.settings.writeback && !resolved.settings.diskCache) {
    throw new CliError(EXIT_USAGE, 'ECONFIG', 'writeback needs the disk cache (its stage lives in the cache directory): drop --no-disk-cache or --writeback');
  }
  return resolved;
}

async function startDaemon(args: readonly string[], metaUrl: string, mnt: string, log: string | undefined, json: boolean): Promise<void> {
  const logFile = resolve(log ?? (process.getuid?.() === 0 ? '/var/log/objectfs.log' : 'objectfs.log'));
  const out = openSync(logFile, 'a');
  // The daemon logs through its own descriptor of the file (reopened on SIGUSR1); its stdout and
  // stderr keep this one, for what Node itself prints (a crash).
  const child = spawn(process.execPath, [BIN, ...args, '--log', logFile], { detached: true, stdio: ['pipe', out, out] });
  closeSync(out);
  // A daemon that dies before reading reports itself through its exit below, not here.
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(`${metaUrl}\n`);
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  child.unref();
  // An earlier run's write-back leftovers go up before the mount and may take long.
  const wait = new MountWait(MOUNT_WAIT_MS, Date.now());
  while (!wait.expired(Date.now())) {
    wait.saw(await readRecoveryRecord(mnt), child.pid, Date.now());
    if (exited !== undefined) {
      const tail = readFileSync(logFile, 'utf8').split('\n').slice(-8).join('\n');
      throw new CliError(EXIT_FAILURE, 'EMOUNT', `the mount daemon exited (code ${exited}); last lines of ${logFile}:\n${tail}`);
    }
    if (isMounted(mnt) && (await daemonOf(mnt)) === child.pid) {
      process.stdout.write(json ? `${JSON.stringify({ mountPoint: mnt, pid: child.pid, log: logFile })}\n` : `mounted ${mnt} (daemon pid ${child.pid}, log ${logFile})\n`);
      return;
    }
    await sleep(200);
  }
  child.kill('SIGTERM');
  throw new CliError(EXIT_FAILURE, 'EMOUNT', `the mount did not come up within ${MOUNT_WAIT_MS / 1000} s${wait.recovering ? ' of its last progress uploading write-back leftovers' : ''}; see ${logFile}`);
}
