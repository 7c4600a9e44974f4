/**
 * ObjectFS's data path measured in-process through the vfs (no FUSE): every phase opens its
 * own volume instance with openVolume, as a new client host would, so caches start as the
 * phase says (cold: empty memory cache, no disk cache; warm: the disk cache of an earlier
 * instance, an empty memory cache). Background jobs are off (backgroundMs 0). Every byte read
 * is checked against the pattern that wrote it.
 *
 * Namespace calls (mkdir, lookup) go to the metadata engine the volume exposes, as the vfs
 * itself does; data calls go through the vfs.
 */
import { constants } from 'node:fs';
import { TieredCache } from '../../src/cache/index.js';
import type { Caller } from '../../src/meta/index.js';
import { openVolume, type OpenVolumeOptions, type Volume } from '../../src/volume/open-volume.js';
import { randomOffsets, SMALL_FILE_SLICE, type WorkloadShape } from './baseline-phases.js';
import type { DataPattern } from './data-pattern.js';
import { timeEach, type PhaseOutcome, type PhaseRunner } from './phase.js';

const ROOT_INO = 1;
const CALLER: Caller = { uid: 0, gid: 0 };

export interface ObjectFsConfig extends WorkloadShape {
  readonly metaUrl: string;
  /** Volume options of every instance (cacheDir is added for the warm phases). */
  readonly volume: OpenVolumeOptions;
  readonly cacheDir: string;
  readonly blockSize: number;
  readonly smallConcurrency: readonly number[];
  /** Appended to every file and directory name, so each round writes new files (e.g. `-r2`). */
  readonly suffix: string;
}

type Note = (msg: string) => void;

/** Opens an instance, runs fn, closes the instance (untimed) whatever happens. */
async function withVolume<T>(cfg: ObjectFsConfig, extra: OpenVolumeOptions, fn: (vol: Volume) => Promise<T>): Promise<T> {
  const vol = await openVolume(cfg.metaUrl, { ...cfg.volume, ...extra });
  try {
    return await fn(vol);
  } finally {
    await vol.close();
  }
}

/** Chunk-store counters and cache occupancy of an instance, for a phase's details. */
function volumeDetails(vol: Volume): Record<string, unknown> {
  const cache = vol.cache instanceof TieredCache ? { tiers: vol.cache.tiers() } : { memory: vol.cache.usage() };
  return { chunkStats: vol.chunks.stats(), cache };
}

const name = (s: string): Buffer => Buffer.from(s);

/** Untimed re-reads allowed to complete the disk cache after the timed fill read. */
const MAX_TOP_UPS = 3;

/** Blocks in the disk tier once its background writes have finished. */
async function diskEntries(vol: Volume): Promise<number> {
  if (!(vol.cache instanceof TieredCache)) return 0;
  await vol.cache.idle();
  return vol.cache.tiers().l2.entries;
}

/** Sequential write of `file` in request-size writes, then flush and release. */
async function seqWrite(cfg: ObjectFsConfig, vol: Volume, file: string, pattern: DataPattern): Promise<PhaseOutcome> {
  const requests = Math.ceil(cfg.fileBytes / cfg.requestBytes);
  const { fh } = await vol.vfs.create(CALLER, ROOT_INO, name(file), 0o644, constants.O_WRONLY);
  const samplesNs = await timeEach(requests, 1, async (i) => {
    const len = Math.min(cfg.requestBytes, cfg.fileBytes - i * cfg.requestBytes);
    await vol.vfs.write(fh, i * cfg.requestBytes, pattern.slice(i, len));
  });
  const f0 = process.hrtime.bigint();
  await vol.vfs.flush(fh);
  const flushMs = Number(process.hrtime.bigint() - f0) / 1e6;
  await vol.vfs.release(fh);
  const details = volumeDetails(vol);
  const stats = vol.chunks.stats();
  return {
    bytes: cfg.fileBytes, count: requests, unit: 'request', samplesNs,
    details: { ...details, flushMs: Math.round(flushMs), storedToLogical: Math.round((stats.bytesUploaded / cfg.fileBytes) * 1000) / 1000 },
  };
}

/** lookup + open + sequential reads (checked) + release of `file`. */
async function seqRead(cfg: ObjectFsConfig, vol: Volume, file: string, pattern: DataPattern): Promise<PhaseOutcome> {
  const requests = Math.ceil(cfg.fileBytes / cfg.requestBytes);
  const attr = await vol.meta.lookup(ROOT_INO, name(file));
  const fh = await vol.vfs.open(CALLER, attr.ino, constants.O_RDONLY);
  const samplesNs = await timeEach(requests, 1, async (i) => {
    const len = Math.min(cfg.requestBytes, cfg.fileBytes - i * cfg.requestBytes);
    const got = await vol.vfs.read(fh, i * cfg.requestBytes, len);
    if (!got.equals(pattern.slice(i, len))) throw new Error(`ObjectFS read of ${file} request ${i}: wrong bytes`);
  });
  await vol.vfs.release(fh);
  return { bytes: cfg.fileBytes, count: requests, unit: 'request', samplesNs, details: volumeDetails(vol) };
}

/** Random aligned reads of `file`, one in flight, checked. */
async function randomReads(cfg: ObjectFsConfig, vol: Volume, file: string, pattern: DataPattern): Promise<PhaseOutcome> {
  const offsets = randomOffsets(cfg.fileBytes, cfg.randomReadBytes, cfg.randomReads, cfg.seed);
  const attr = await vol.meta.lookup(ROOT_INO, name(file));
  const fh = await vol.vfs.open(CALLER, attr.ino, constants.O_RDONLY);
  const samplesNs = await timeEach(offsets.length, 1, async (i) => {
    const off = offsets[i] as number;
    const got = await vol.vfs.read(fh, off, cfg.randomReadBytes);
    if (!got.equals(pattern.fileBytes(off, cfg.randomReadBytes, cfg.requestBytes))) throw new Error(`ObjectFS random read at ${off}: wrong bytes`);
  });
  await vol.vfs.release(fh);
  const distinctBlocks = new Set(offsets.map((o) => Math.floor(o / cfg.blockSize))).size;
  return { bytes: offsets.length * cfg.randomReadBytes, count: offsets.length, unit: 'op', samplesNs, details: { ...volumeDetails(vol), distinctBlocks } };
}

export async function objectfsPhases(runner: PhaseRunner, cfg: ObjectFsConfig, random: DataPattern, text: DataPattern | undefined, note: Note): Promise<void> {
  const mib = cfg.fileBytes >> 20;
  const cached = { cacheDir: cfg.cacheDir };
  const blocks = Math.ceil(cfg.fileBytes / cfg.blockSize);
  const seqFile = `seq-random${cfg.suffix}`;
  const textFile = `seq-text${cfg.suffix}`;

  await withVolume(cfg, {}, (vol) => runner.run(
    { id: 'objectfs.seq-write', system: 'objectfs', label: `sequential write ${mib} MiB + flush`, data: random.kind, dropCache: false },
    () => seqWrite(cfg, vol, seqFile, random)));
  await withVolume(cfg, {}, (vol) => runner.run(
    { id: 'objectfs.seq-read-cold', system: 'objectfs', label: 'cold sequential read (no disk cache)', data: random.kind, dropCache: true },
    () => seqRead(cfg, vol, seqFile, random)));

  // Fill the disk cache by reading the file once (timed: a cold read that also writes the
  // cache). The disk cache drops puts while 64 MiB of writes are pending, so one pass may
  // leave blocks out; untimed top-up reads from fresh instances (empty memory cache, so every
  // missing block is fetched and offered to the disk again) complete it, so that the warm
  // read measures the disk cache and not S3.
  const cachedAfter: number[] = [];
  await withVolume(cfg, cached, async (vol) => {
    await runner.run(
      { id: 'objectfs.seq-read-fill', system: 'objectfs', label: 'cold sequential read, filling the disk cache', data: random.kind, dropCache: true },
      () => seqRead(cfg, vol, seqFile, random));
    cachedAfter.push(await diskEntries(vol));
  });
  while ((cachedAfter.at(-1) ?? 0) < blocks && cachedAfter.length <= MAX_TOP_UPS) {
    note(`disk cache holds ${cachedAfter.at(-1)} of ${blocks} blocks: reading the file again (untimed) to complete it`);
    cachedAfter.push(await withVolume(cfg, cached, async (vol) => {
      await seqRead(cfg, vol, seqFile, random);
      return diskEntries(vol);
    }));
  }
  const fill = { blocks, diskCacheBlocksAfterEachFillPass: cachedAfter };
  if ((cachedAfter.at(-1) ?? 0) < blocks) note(`disk cache still incomplete after ${cachedAfter.length} passes: the warm read fetches the rest from S3`);
  await withVolume(cfg, cached, (vol) => runner.run(
    { id: 'objectfs.seq-read-warm', system: 'objectfs', label: 'warm sequential read (disk cache, cold memory)', data: random.kind, dropCache: true },
    async () => {
      const out = await seqRead(cfg, vol, seqFile, random);
      return { ...out, details: { ...out.details, fill } };
    }));

  const rand = `${cfg.randomReadBytes >> 10} KiB random reads, 1 in flight`;
  await withVolume(cfg, {}, (vol) => runner.run(
    { id: 'objectfs.rand-read-cold', system: 'objectfs', label: `${rand}, cold (no disk cache)`, data: random.kind, dropCache: true },
    () => randomReads(cfg, vol, seqFile, random)));
  await withVolume(cfg, cached, (vol) => runner.run(
    { id: 'objectfs.rand-read-warm', system: 'objectfs', label: `${rand}, warm (disk cache, cold memory)`, data: random.kind, dropCache: true },
    () => randomReads(cfg, vol, seqFile, random)));

  for (const c of cfg.smallConcurrency) await smallFiles(runner, cfg, random, c);

  if (text !== undefined) {
    await withVolume(cfg, {}, (vol) => runner.run(
      { id: 'objectfs.seq-write-text', system: 'objectfs', label: `sequential write ${mib} MiB + flush`, data: text.kind, dropCache: false },
      () => seqWrite(cfg, vol, textFile, text)));
    await withVolume(cfg, {}, (vol) => runner.run(
      { id: 'objectfs.seq-read-cold-text', system: 'objectfs', label: 'cold sequential read (no disk cache)', data: text.kind, dropCache: true },
      () => seqRead(cfg, vol, textFile, text)));
  }
}

/** `smallFiles` files written (create+write+release), then read back from a fresh instance (lookup+open+read+release). */
async function smallFiles(runner: PhaseRunner, cfg: ObjectFsConfig, pattern: DataPattern, concurrency: number): Promise<void> {
  const dirName = name(`small-c${concurrency}${cfg.suffix}`);
  const label = `${cfg.smallFiles} × ${cfg.smallFileBytes >> 10} KiB files, ${concurrency} in flight`;
  const n = cfg.smallFiles;
  const bytes = n * cfg.smallFileBytes;
  const data = (i: number): Buffer => pattern.slice(SMALL_FILE_SLICE + i, cfg.smallFileBytes);
  await withVolume(cfg, {}, async (vol) => {
    const dir = (await vol.meta.mkdir(CALLER, ROOT_INO, dirName, 0o755)).ino;
    await runner.run({ id: `objectfs.small-write-c${concurrency}`, system: 'objectfs', label: `${label}: create+write+release`, data: pattern.kind, dropCache: false }, async () => {
      const samplesNs = await timeEach(n, concurrency, async (i) => {
        const { fh } = await vol.vfs.create(CALLER, dir, name(`f${i}`), 0o644, constants.O_WRONLY);
        await vol.vfs.write(fh, 0, data(i));
        await vol.vfs.release(fh);
      });
      return { bytes, count: n, unit: 'file', samplesNs, details: volumeDetails(vol) };
    });
  });
  await withVolume(cfg, {}, async (vol) => {
    const dir = (await vol.meta.lookup(ROOT_INO, dirName)).ino;
    await runner.run({ id: `objectfs.small-read-c${concurrency}`, system: 'objectfs', label: `${label}: lookup+open+read+release, cold`, data: pattern.kind, dropCache: true }, async () => {
      const samplesNs = await timeEach(n, concurrency, async (i) => {
        const attr = await vol.meta.lookup(dir, name(`f${i}`));
        const fh = await vol.vfs.open(CALLER, attr.ino, constants.O_RDONLY);
        const got = await vol.vfs.read(fh, 0, cfg.smallFileBytes);
        await vol.vfs.release(fh);
        if (!got.equals(data(i))) throw new Error(`ObjectFS small file ${i}: wrong bytes`);
      });
      return { bytes, count: n, unit: 'file', samplesNs, details: volumeDetails(vol) };
    });
  });
}
