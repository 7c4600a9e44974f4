/**
 * The mount's settings: one table gives each setting's kind, default, whether it can change
 * while mounted, and its help. The same table feeds validation of YAML files, environment
 * variables and flags, the reload diff, and the check that config/objectfs.example.yaml
 * documents every setting.
 *
 * Names: `cache-size` in YAML and as the flag `--cache-size`, OBJECTFS_CACHE_SIZE in the
 * environment, `cacheSize` in code.
 */
import { LOG_LEVELS, type LogLevel } from '../util/log.js';
import { formatBytes, parseByteSize } from '../util/bytes.js';
import { parseDuration } from '../util/duration.js';
import { normalizeSubdir } from './subdir.js';

/** S3 storage classes accepted for new objects (AWS's list; other vendors accept a subset). */
export const STORAGE_CLASSES = [
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING',
  'GLACIER', 'DEEP_ARCHIVE', 'GLACIER_IR', 'OUTPOSTS', 'SNOW', 'EXPRESS_ONEZONE',
] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];

export interface MountSettings {
  readonly logLevel: LogLevel;
  readonly log: string | undefined;
  readonly metrics: string | false;
  readonly readOnly: boolean;
  readonly attrTimeout: number;
  readonly entryTimeout: number;
  readonly negativeTimeout: number;
  readonly allowOther: boolean;
  readonly writebackCache: boolean;
  readonly bufferSize: number | undefined;
  readonly writeback: boolean;
  readonly writebackLimit: number | undefined;
  readonly cacheDir: string;
  readonly diskCache: boolean;
  readonly cacheSize: number | undefined;
  readonly memoryCacheSize: number | undefined;
  readonly freeSpaceRatio: number | undefined;
  readonly uploadConcurrency: number | undefined;
  readonly downloadConcurrency: number | undefined;
  readonly readahead: number | undefined;
  readonly prefetchDir: boolean;
  readonly deleteDelay: number | undefined;
  readonly ioRetries: number | undefined;
  readonly metaRetryTimeout: number;
  readonly sessionTimeout: number;
  readonly uploadLimit: number;
  readonly downloadLimit: number;
  readonly storageClass: StorageClass | undefined;
  /** The directory of the volume served as the mount's root, normalized (`/a/b`); undefined: the whole volume. */
  readonly subdir: string | undefined;
  /** Seconds between metadata backups into the bucket (one live mount of the volume makes each); 0: none. */
  readonly backupMeta: number;
  /** Metadata backups kept in the bucket; older ones are deleted after each new one. */
  readonly backupKeep: number;
}

export type SettingKey = keyof MountSettings;
type Kind = 'bytes' | 'seconds' | 'count' | 'ratio' | 'bool' | 'path' | 'logLevel' | 'address' | 'storageClass' | 'subdir';

export interface SettingDef {
  readonly kind: Kind;
  /** Takes effect without unmounting (on SIGHUP or a change of the configuration file). */
  readonly live: boolean;
  readonly help: string;
  /** Smallest value accepted (bytes settings; 0 when absent). */
  readonly min?: number;
}

export const SETTINGS: Readonly<Record<SettingKey, SettingDef>> = Object.freeze({
  logLevel: { kind: 'logLevel', live: true, help: `least severe log level written: ${LOG_LEVELS.join(', ')}` },
  log: { kind: 'path', live: false, help: 'log file, reopened on SIGUSR1 (default: stderr; with --background /var/log/objectfs.log as root, else ./objectfs.log)' },
  metrics: { kind: 'address', live: true, help: 'HOST:PORT of the Prometheus endpoint (/metrics), or "off"' },
  readOnly: { kind: 'bool', live: false, help: 'mount read-only' },
  attrTimeout: { kind: 'seconds', live: false, help: 'kernel attribute cache timeout' },
  entryTimeout: { kind: 'seconds', live: false, help: 'kernel name cache timeout' },
  negativeTimeout: { kind: 'seconds', live: false, help: 'kernel cache of missing names' },
  allowOther: { kind: 'bool', live: false, help: 'let other users access the mount (default: yes when mounted by root, as JuiceFS does; the kernel still checks permissions)' },
  writebackCache: { kind: 'bool', live: false, help: "the kernel's writeback cache: write(2) returns once the page cache has the data (see docs/decisions.md)" },
  bufferSize: { kind: 'bytes', live: true, help: 'write buffer bound', min: 1 },
  writeback: { kind: 'bool', live: false, help: 'write-back: close returns once the data is staged on the local disk and committed; uploads follow in the background (fsync still waits for them; needs the disk cache; see docs/semantics.md)' },
  writebackLimit: { kind: 'bytes', live: false, help: 'bound of the write-back stage; closes wait while it is full (default a tenth of cache-size)', min: 1 },
  cacheDir: { kind: 'path', live: false, help: 'disk block cache directory' },
  diskCache: { kind: 'bool', live: false, help: 'keep a disk block cache (false: memory only)' },
  cacheSize: { kind: 'bytes', live: true, help: 'disk cache bound' },
  memoryCacheSize: { kind: 'bytes', live: true, help: 'memory cache bound' },
  freeSpaceRatio: { kind: 'ratio', live: false, help: 'fraction of the cache disk kept free' },
  uploadConcurrency: { kind: 'count', live: false, help: 'block uploads in flight' },
  downloadConcurrency: { kind: 'count', live: false, help: 'block downloads in flight' },
  readahead: { kind: 'bytes', live: true, help: 'largest readahead window (files opened after a change)' },
  prefetchDir: { kind: 'bool', live: false, help: 'fetch the small files (one block or less) of every listed directory into the caches in the background' },
  deleteDelay: { kind: 'seconds', live: false, help: 'safety delay before released objects are deleted' },
  ioRetries: { kind: 'count', live: false, help: 'attempts per object-store request before it fails with EIO (default 6: about 6 s of backoff)' },
  metaRetryTimeout: { kind: 'seconds', live: false, help: 'how long a metadata operation keeps retrying while PostgreSQL is unreachable before it fails with EIO (default 60s)' },
  sessionTimeout: { kind: 'seconds', live: false, help: 'how long after its last heartbeat a mount is taken for dead by the others, its session ended and its locks released (default 60s)' },
  uploadLimit: { kind: 'bytes', live: true, help: 'upload rate limit in bytes per second (0 = none)' },
  downloadLimit: { kind: 'bytes', live: true, help: 'download rate limit in bytes per second (0 = none)' },
  storageClass: { kind: 'storageClass', live: false, help: `S3 storage class of new objects (${STORAGE_CLASSES.join(', ')})` },
  subdir: { kind: 'subdir', live: false, help: 'mount this directory of the volume (/a/b, from the volume\'s root) as the root of the mount' },
  backupMeta: { kind: 'seconds', live: false, help: 'interval of metadata backups into the bucket (meta-backup/ under the volume\'s prefix), made by one live mount of the volume at a time; 0 = none (default 1h)' },
  backupKeep: { kind: 'count', live: false, help: 'metadata backups kept in the bucket (default 7)' },
});

/** Defaults of settings that have one here (the others default in the layer that uses them). */
export const DEFAULTS: MountSettings = Object.freeze({
  logLevel: 'info', log: undefined, metrics: '127.0.0.1:9567', readOnly: false,
  attrTimeout: 1, entryTimeout: 1, negativeTimeout: 1, allowOther: process.getuid?.() === 0, writebackCache: false,
  bufferSize: undefined, writeback: false, writebackLimit: undefined, cacheDir: '/var/cache/objectfs', diskCache: true, cacheSize: undefined,
  memoryCacheSize: undefined, freeSpaceRatio: undefined, uploadConcurrency: undefined,
  downloadConcurrency: undefined, readahead: undefined, prefetchDir: false, deleteDelay: undefined, ioRetries: undefined,
  metaRetryTimeout: 60, sessionTimeout: 60, uploadLimit: 0, downloadLimit: 0, storageClass: undefined,
  subdir: undefined, backupMeta: 3600, backupKeep: 7,
});

/** A setting value that failed validation; the message names the setting and where it came from. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `cache-size` for `cacheSize`. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** OBJECTFS_CACHE_SIZE for `cacheSize`. */
export function envName(key: string): string {
  return `OBJECTFS_${kebab(key).replace(/-/g, '_').toUpperCase()}`;
}

/** The key of a YAML name (`cache-size` or `cacheSize`), or undefined. */
export function settingKey(name: string): SettingKey | undefined {
  const camel = name.replace(/[-_]([a-z])/g, (_m, c: string) => c.toUpperCase());
  return Object.hasOwn(SETTINGS, camel) ? (camel as SettingKey) : undefined;
}

/** Validates one raw value (a YAML scalar, an environment string or a parsed flag). */
export function parseSetting(key: SettingKey, raw: unknown, where: string): unknown {
  const def = SETTINGS[key];
  const bad = (why: string) => new ConfigError(`${kebab(key)} (${where}): ${JSON.stringify(raw)} ${why}`);
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (def.kind) {
    case 'bytes': {
      if (typeof text !== 'string' && typeof text !== 'number') throw bad('is not a size');
      let bytes: number;
      try {
        bytes = parseByteSize(text);
      } catch (err) {
        throw bad(`is not a size (${(err as Error).message})`);
      }
      if (bytes < (def.min ?? 0)) throw bad(`must be at least ${formatBytes(def.min ?? 0)}`);
      return bytes;
    }
    case 'seconds':
      // A duration with a unit ('500ms', '1h') or a bare number of seconds.
      if (typeof text !== 'string' && typeof text !== 'number') throw bad('is not a duration');
      try {
        return parseDuration(text);
      } catch (err) {
        throw bad(`is not a duration (${(err as Error).message})`);
      }
    case 'ratio': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && text !== '' ? Number(text) : NaN;
      if (!Number.isFinite(n) || n < 0 || n >= 1) throw bad('is not a ratio in [0, 1)');
      return n;
    }
    case 'count': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && /^\d+$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n) || n < 1) throw bad('is not a positive whole number');
      return n;
    }
    case 'bool':
      if (typeof text === 'boolean') return text;
      if (text === 'true' || text === '1' || text === 'yes') return true;
      if (text === 'false' || text === '0' || text === 'no') return false;
      throw bad('is not true or false');
    case 'path':
      if (typeof text !== 'string' || text === '') throw bad('is not a path');
      return text;
    case 'logLevel':
      if (!(LOG_LEVELS as readonly unknown[]).includes(text)) throw bad(`is not one of ${LOG_LEVELS.join(', ')}`);
      return text;
    case 'address':
      if (text === false || text === 'off' || text === 'false') return false;
      if (typeof text !== 'string' || !/^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]*):\d{1,5}$/.test(text)) throw bad('is not HOST:PORT or off');
      return text;
    case 'storageClass':
      if (typeof text !== 'string' || !(STORAGE_CLASSES as readonly string[]).includes(text.toUpperCase())) {
        throw bad(`is not one of ${STORAGE_CLASSES.join(', ')}`);
      }
      return text.toUpperCase();
    case 'subdir':
      if (typeof text !== 'string') throw bad('is not a path');
      try {
        return normalizeSubdir(text);
      } catch (err) {
        throw bad((err as Error).message);
      }
  }
}
