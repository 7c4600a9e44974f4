/**
 * Formatted volumes for the data-path integration tests (test/integration/data): metadata on
 * the test bed's PostgreSQL or on PGlite, data on the test bed's s3rver, on a private s3rver
 * (private-s3.ts) or in a file:// directory. Each call formats a brand-new volume under a
 * unique database and bucket prefix, so test files can run in parallel.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { sliceBlockKeys } from '../../src/chunk/keys.js';
import type { MetaEngine } from '../../src/meta/index.js';
import { listAll, type ObjectStore } from '../../src/object/index.js';
import { formatVolume } from '../../src/volume/format-volume.js';
import { openVolume, type OpenVolumeOptions, type Volume } from '../../src/volume/open-volume.js';
import { openVolumeStore } from '../../src/volume/volume-store.js';
import { freshPgDatabase, freshPgliteUrl } from './pg.js';
import { testS3Url } from './s3.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** Who creates the test files. */
export const ROOT_CALLER = Object.freeze({ uid: 0, gid: 0 });

export type MetaBackend = 'postgres' | 'pglite';
/** 's3' = the test bed's s3rver; 'file' = a temp directory; or an explicit storage URL. */
export type DataBackend = 's3' | 'file' | { readonly storage: string };

export interface DataVolumeSpec {
  readonly meta: MetaBackend;
  readonly data: DataBackend;
  readonly blockSize: number;
  readonly compression?: 'lz4' | 'none';
  /** Days deleted files stay in the trash (default 0: gone at once, as most tests expect). */
  readonly trashDays?: number;
}

/** A formatted volume; open() it as many times (hosts) as needed. */
export interface DataVolume {
  readonly metaUrl: string;
  readonly storage: string;
  readonly name: string;
  readonly blockSize: number;
  /**
   * The volume's objects seen directly (the storage URL plus `<name>/`), bypassing every
   * volume instance: list, delete or damage block objects with it.
   */
  readonly objects: ObjectStore;
  /** Opens an instance (a "host") of the volume; background jobs are off unless asked for. */
  open(options?: OpenVolumeOptions): Promise<Volume>;
  /** Closes every instance still open, the object view, and drops the database / temp dirs. */
  cleanup(): Promise<void>;
}

/** Formats a fresh volume on the given backends. */
export async function freshDataVolume(label: string, spec: DataVolumeSpec): Promise<DataVolume> {
  const cleanups: (() => Promise<void>)[] = [];
  const runCleanups = async (): Promise<void> => {
    let first: unknown;
    for (const c of cleanups.reverse()) await c().catch((e: unknown) => { first ??= e; });
    cleanups.length = 0;
    if (first !== undefined) throw first;
  };
  try {
    let metaUrl: string;
    if (spec.meta === 'postgres') {
      const db = await freshPgDatabase(label);
      cleanups.push(() => db.drop());
      metaUrl = db.url;
    } else {
      const lite = await freshPgliteUrl(label);
      cleanups.push(() => lite.cleanup());
      metaUrl = lite.url;
    }
    let storage: string;
    if (spec.data === 's3') storage = testS3Url(label);
    else if (spec.data === 'file') {
      const dir = await mkdtemp(join(tmpdir(), 'objectfs-data-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      storage = `file://${dir}`;
    } else storage = spec.data.storage;
    const name = `v-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40) || 'data'}`;
    await formatVolume({ metaUrl, name, storage, blockSize: spec.blockSize, compression: spec.compression ?? 'lz4', trashDays: spec.trashDays ?? 0 });
    const { base, store: objects } = await openVolumeStore(storage, name, { maxAttempts: 2, retryBaseDelayMs: 50 });
    cleanups.push(async () => {
      if (spec.data === 's3') {
        // Best effort: the bed's bucket is thrown away with its temp dir anyway.
        const keys: string[] = [];
        for await (const o of listAll(objects)) keys.push(o.key);
        for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => objects.delete(k)));
      }
      await base.close();
    });
    const volumes: Volume[] = [];
    // Instances close before the view and the database go.
    cleanups.push(async () => {
      for (const v of volumes.reverse()) await v.close().catch(() => undefined);
    });
    return {
      metaUrl, storage, name, blockSize: spec.blockSize, objects,
      async open(options: OpenVolumeOptions = {}) {
        const v = await openVolume(metaUrl, { backgroundMs: 0, counterFlushMs: 0, ...options });
        volumes.push(v);
        return v;
      },
      cleanup: runCleanups,
    };
  } catch (err) {
    await runCleanups().catch(() => undefined);
    throw err;
  }
}

/** Every block object key (`chunks/…`) of the volume, sorted. */
export async function listBlockKeys(objects: ObjectStore): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listAll(objects, 'chunks/')) keys.push(o.key);
  return keys.sort();
}

/** The block keys that the slice lists of the given chunks reference (holes excluded), sorted. */
export async function referencedBlockKeys(
  meta: MetaEngine, chunks: Iterable<readonly [ino: number, index: number]>, blockSize: number,
): Promise<string[]> {
  const keys = new Set<string>();
  for (const [ino, index] of chunks) {
    for (const e of (await meta.readChunk(ino, index)).slices) {
      if (e.id !== 0) for (const k of sliceBlockKeys(e.id, e.size, blockSize)) keys.add(k);
    }
  }
  return [...keys].sort();
}

/** Every (inode, chunk index) of the chunk table of a PostgreSQL volume, read with SQL. */
export async function allChunkRows(metaUrl: string): Promise<Array<readonly [number, number]>> {
  const client = new pg.Client({ connectionString: metaUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ inode: string; idx: number }>('SELECT inode, idx FROM chunk ORDER BY inode, idx');
    return rows.map((r) => [Number(r.inode), r.idx] as const);
  } finally {
    await client.end();
  }
}

/** The slice ids named by a list of block keys. */
export function sliceIdsOf(keys: readonly string[]): Set<number> {
  return new Set(keys.map((k) => Number(/\/(\d+)_\d+_\d+$/.exec(k)?.[1])));
}

/** Megabytes (10^6 bytes) per second, one decimal. */
export function mbps(bytes: number, ms: number): string {
  return (bytes / 1e6 / (ms / 1e3)).toFixed(1);
}
