/**
 * The foreground mount: opens the volume with its metrics, mounts it, serves /metrics and
 * `.stats`, records the mount for info/warmup, reloads settings on SIGHUP or a change of the
 * configuration file, and on SIGINT/SIGTERM/unmount commits pending writes and exits.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { CliError, errnoName } from '../errors.js';
import { forgetDaemon, isMounted, mountFuse, opTimeouts, recordDaemon, tuneAllocator, type MountedFs } from '../fuse/index.js';
import { Metrics } from '../metrics/index.js';
import { createLogger, type Logger } from '../util/log.js';
import { LogFile } from '../util/log-file.js';
import { openVolume } from '../volume/open-volume.js';
import { redactText, redactUrl, secretsOfEnv } from '../config/redact.js';
import type { Resolved } from '../config/load.js';
import { watchSettled } from '../config/file-watch.js';
import { EXIT_FAILURE } from './errors.js';
import { LiveSettings } from './mount-reload.js';
import { removeMountRecord, removeRecoveryRecord, writeMountRecord, writeRecoveryRecord } from './mount-record.js';

export interface ServeRequest {
  readonly metaUrl: string;
  readonly mountPoint: string;
  readonly fuseOptions: readonly string[];
  readonly resolved: Resolved;
  /** Reads the settings again (file, environment, flags) for a reload. */
  readonly reload: () => Promise<Resolved>;
  /** The configuration file, watched for changes. */
  readonly configFile?: string | undefined;
}

/** The password of a URL, if it has one (it is masked wherever it would be logged). */
function urlPassword(url: string): string[] {
  try {
    const p = decodeURIComponent(new URL(url).password);
    return p.length >= 4 ? [p] : [];
  } catch {
    return [];
  }
}

export async function serve(req: ServeRequest): Promise<void> {
  const { metaUrl, mountPoint: mnt } = req;
  const settings = req.resolved.settings;
  const secrets = [...secretsOfEnv(), ...urlPassword(metaUrl)];
  const redact = (line: string) => redactText(line, secrets);
  const logFile = settings.log === undefined ? undefined : new LogFile(resolve(settings.log));
  const log = logFile === undefined
    ? createLogger({ level: settings.logLevel, redact })
    : createLogger({ level: settings.logLevel, redact, json: true, write: (line) => logFile.write(line) });
  // From the start, and never removed: without a listener, SIGUSR1 makes Node open its
  // inspector on 127.0.0.1:9229, which logrotate's signal must never do.
  process.on('SIGUSR1', () => reopenLog(logFile, log));
  const metrics = new Metrics();
  // From the start: a SIGTERM that arrives while mounting (before the wait below) must still
  // unmount and end the session cleanly, not kill the process with the default action.
  let stopRequested: string | undefined;
  let onStop: (() => void) | undefined;
  const requestStop = (why: string) => {
    if (stopRequested !== undefined) return;
    stopRequested = why;
    onStop?.();
  };
  const onSigint = () => requestStop('SIGINT');
  const onSigterm = () => requestStop('SIGTERM');
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigterm);
  const version = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  if (!tuneAllocator()) log.warn('glibc did not take the allocator settings: block buffers will be mapped afresh each time');
  // Write-back leftovers of an earlier run go up before the mount: the progress is recorded
  // for a `--background` parent, which waits as long as it moves.
  let recoveryWrite: Promise<void> = Promise.resolve();
  const volume = await openVolume(metaUrl, {
    session: { host: hostname(), pid: process.pid, mountPoint: mnt, version, processName: 'objectfs mount', ...(settings.subdir === undefined ? {} : { subdir: settings.subdir }) },
    // A sub-directory that is missing or not a directory fails here (SubdirError, exit 1),
    // before anything is mounted.
    subdir: settings.subdir,
    ...(settings.diskCache ? { cacheDir: settings.cacheDir } : {}),
    cacheBytes: settings.cacheSize,
    memoryCacheBytes: settings.memoryCacheSize,
    cacheFreeRatio: settings.freeSpaceRatio,
    bufferBytes: settings.bufferSize,
    writeback: settings.writeback,
    writebackLimitBytes: settings.writebackLimit,
    writebackRecovery: { onProgress: ({ uploaded, total }) => { recoveryWrite = recoveryWrite.then(() => writeRecoveryRecord(mnt, { pid: process.pid, uploaded, total })); } },
    uploadConcurrency: settings.uploadConcurrency,
    downloadConcurrency: settings.downloadConcurrency,
    readaheadBytes: settings.readahead,
    prefetchDirs: settings.prefetchDir,
    // With the kernel keeping no missing names, neither does the vfs (decision 99).
    knowsMissingNames: settings.negativeTimeout > 0,
    readOnly: settings.readOnly,
    deleteDelayMs: settings.deleteDelay === undefined ? undefined : settings.deleteDelay * 1000,
    ...(settings.ioRetries === undefined ? {} : { storeOptions: { maxAttempts: Math.max(1, settings.ioRetries) } }),
    uploadBytesPerSecond: settings.uploadLimit,
    downloadBytesPerSecond: settings.downloadLimit,
    storageClass: settings.storageClass,
    retryTimeoutMs: settings.metaRetryTimeout * 1000,
    sessionTimeoutSeconds: settings.sessionTimeout,
    heartbeatSeconds: Math.min(12, settings.sessionTimeout / 5),
    metaBackup: { intervalMs: settings.backupMeta * 1000, keep: settings.backupKeep, tempDir: settings.diskCache ? settings.cacheDir : undefined, log },
    log,
    metrics,
  }).finally(() => recoveryWrite.then(() => removeRecoveryRecord(mnt)));
  let mounted: MountedFs;
  try {
    mounted = await mountFuse(volume.vfs, {
      mountPoint: mnt,
      attrTimeout: settings.attrTimeout,
      entryTimeout: settings.entryTimeout,
      negativeTimeout: settings.negativeTimeout,
      allowOther: settings.allowOther,
      writebackCache: settings.writebackCache,
      opTimeouts: opTimeouts(settings.metaRetryTimeout * 1000),
      fuseOptions: req.fuseOptions,
      fsName: `objectfs:${volume.meta.volume.name}`,
      log: {
        unexpected: (op, err) => log.error(`${op} failed`, { err }),
        done: (op, ms, errno, bytes) => {
          metrics.fuseOp(op, ms / 1000, errno === 0 ? undefined : errnoName(errno));
          if (bytes !== undefined && errno === 0) (op === 'read' ? metrics.m.fuseReadBytes : metrics.m.fuseWrittenBytes).inc(bytes);
        },
      },
      statsText: () => metrics.text(),
      root: volume.root,
    });
  } catch (err) {
    await volume.close();
    throw new CliError(EXIT_FAILURE, 'EMOUNT', (err as Error).message, { cause: err });
  }
  let noticesCounted = 0;
  metrics.onCollect(() => {
    const s = mounted.stats();
    metrics.m.fuseKernelInodes.set(s.kernelInodes);
    metrics.m.fuseDirStreams.set(s.dirStreams);
    metrics.m.fusePendingRequests.set(s.outstanding);
    metrics.m.fuseLiveRequests.set(s.live);
    metrics.m.fuseNoticesWaiting.set(s.noticesWaiting);
    metrics.m.fuseNoticesSent.inc(s.noticesSent - noticesCounted);
    noticesCounted = s.noticesSent;
  });
  const live = new LiveSettings({ volume, metrics, log, resolved: req.resolved });
  await live.startMetrics();
  await recordDaemon(mnt);
  const recordMount = () => writeMountRecord({
    pid: process.pid,
    mountPoint: mnt,
    volume: { name: volume.meta.volume.name, uuid: volume.meta.volume.uuid },
    meta: redactUrl(metaUrl),
    cacheDir: volume.diskCache?.dir,
    ...(settings.subdir === undefined ? {} : { subdir: settings.subdir, root: volume.root }),
    metrics: live.metricsAddress(),
    startedAt: new Date().toISOString(),
  }, metaUrl);
  await recordMount();
  log.info('mounted', { volume: volume.meta.volume.name, ...(settings.subdir === undefined ? {} : { subdir: settings.subdir }), mountPoint: mnt, meta: redactUrl(metaUrl), metrics: live.metricsAddress() ?? 'off' });

  // Reloads run one at a time; a SIGHUP during one runs another after it.
  let reloading: Promise<void> = Promise.resolve();
  const reload = (why: string) => {
    reloading = reloading.then(async () => {
      try {
        await live.apply(await req.reload(), why);
        metrics.m.configReloads.inc({ result: 'ok' });
        await recordMount();
      } catch (err) {
        metrics.m.configReloads.inc({ result: 'error' });
        log.error('configuration reload failed; the settings in force are unchanged', { why, error: (err as Error).message });
      }
    });
  };
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  const configWatch = req.configFile === undefined ? undefined : watchSettled(req.configFile, () => reload('configuration file changed'));

  await new Promise<void>((resolveStop) => {
    // Unmounted from outside (umount, fusermount3 -u): the kernel connection ends at once; the
    // mount table is watched too, in case the end is never reported.
    void mounted.ended.then(() => requestStop('unmounted'));
    const watch = setInterval(() => { if (!isMounted(mnt)) requestStop('unmounted'); }, 2000);
    onStop = () => {
      clearInterval(watch);
      resolveStop();
    };
    if (stopRequested !== undefined) onStop();
  });
  log.info('unmounting', { why: stopRequested });
  process.off('SIGHUP', onHup);
  configWatch?.close();
  try {
    await reloading;
    await mounted.unmount();
  } finally {
    await live.close();
    await volume.close();
    await removeMountRecord(mnt);
    await forgetDaemon(mnt);
    log.info('stopped', { mountPoint: mnt });
  }
}

/** SIGUSR1: logrotate has moved the log file away; write to a new one under its name. */
function reopenLog(file: LogFile | undefined, log: Logger): void {
  if (file === undefined) return; // logging to stderr: whoever holds it rotates it
  try {
    file.reopen();
    log.info('log file reopened', { path: file.path });
  } catch (err) {
    log.error('log file not reopened; still writing to the old one', { path: file.path, error: (err as Error).message });
  }
}
