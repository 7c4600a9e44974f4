/**
 * The two references ObjectFS is measured against, on the same machine and the same s3rver:
 *
 * - raw S3: PUT then GET of block-sized objects with @aws-sdk/client-s3 directly, with the
 *   same client settings as ObjectFS's S3Store (keep-alive agent with 64 sockets, no SDK
 *   retries, checksums only when required) and the same number in flight as ObjectFS's
 *   upload/download concurrency. This is the most the data path can get from this server.
 * - a local directory: node:fs FileHandle writes and reads of the same files in the same
 *   request sizes (the best a filesystem caller in Node gets from this disk).
 */
import { Agent } from 'node:http';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { DataPattern } from './data-pattern.js';
import { makeRng } from '../../test/support/prng.js';
import { timeEach, type PhaseRunner } from './phase.js';
import { S3RVER_CREDENTIALS, type BenchS3 } from './s3rver.js';

export interface RawS3Config {
  /** Key prefix of this round's objects, e.g. `raw/r1/`. */
  readonly prefix: string;
  readonly objectBytes: number;
  readonly objects: number;
  readonly concurrency: number;
}

/** An S3 client configured as S3Store configures its own (src/object/s3-store.ts). */
function rawClient(s3: BenchS3): { client: S3Client; agent: Agent } {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    maxAttempts: 1,
    credentials: { ...S3RVER_CREDENTIALS }, // a copy: the SDK annotates the object it is given
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: new NodeHttpHandler({ httpAgent: agent, connectionTimeout: 5_000, requestTimeout: 60_000, socketTimeout: 30_000 }),
  });
  return { client, agent };
}

/** PUT `objects` objects, drop the page cache, GET them back (checked), then delete them untimed. */
export async function rawS3Phases(runner: PhaseRunner, s3: BenchS3, pattern: DataPattern, cfg: RawS3Config): Promise<void> {
  const { client, agent } = rawClient(s3);
  const key = (i: number): string => `${cfg.prefix}obj-${String(i).padStart(6, '0')}`;
  const label = `${cfg.objectBytes >> 20} MiB objects, ${cfg.concurrency} in flight`;
  try {
    await runner.run({ id: 'raw-s3.put', system: 'raw-s3', label: `PUT ${label}`, data: pattern.kind, dropCache: false }, async () => {
      const samplesNs = await timeEach(cfg.objects, cfg.concurrency, async (i) => {
        const body = pattern.slice(i, cfg.objectBytes);
        await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key(i), Body: body, ContentLength: body.length }));
      });
      return { bytes: cfg.objects * cfg.objectBytes, count: cfg.objects, unit: 'request', samplesNs };
    });
    await runner.run({ id: 'raw-s3.get', system: 'raw-s3', label: `GET ${label}`, data: pattern.kind, dropCache: true }, async () => {
      const samplesNs = await timeEach(cfg.objects, cfg.concurrency, async (i) => {
        const out = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key(i) }));
        const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
        if (!Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(pattern.slice(i, cfg.objectBytes))) {
          throw new Error(`raw GET ${key(i)} returned different bytes`);
        }
      });
      return { bytes: cfg.objects * cfg.objectBytes, count: cfg.objects, unit: 'request', samplesNs };
    });
    // One at a time: concurrent deletes make s3rver race on removing the emptied directories (HTTP 500).
    await timeEach(cfg.objects, 1, async (i) => void (await client.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: key(i) }))));
  } finally {
    client.destroy();
    agent.destroy();
  }
}

/** The data workload every benchmark runs against each system: the same sizes and seed. */
export interface WorkloadShape {
  readonly fileBytes: number;
  readonly requestBytes: number;
  readonly randomReads: number;
  readonly randomReadBytes: number;
  readonly smallFiles: number;
  readonly smallFileBytes: number;
  readonly seed: number;
}

export interface LocalConfig extends WorkloadShape {
  readonly dir: string;
}

/** The same workloads as ObjectFS's, through node:fs FileHandles on a local directory. */
export async function localPhases(runner: PhaseRunner, pattern: DataPattern, cfg: LocalConfig): Promise<void> {
  await mkdir(cfg.dir, { recursive: true });
  const path = join(cfg.dir, 'seq');
  const requests = Math.ceil(cfg.fileBytes / cfg.requestBytes);
  const reqLen = (i: number): number => Math.min(cfg.requestBytes, cfg.fileBytes - i * cfg.requestBytes);

  await runner.run({ id: 'local.seq-write', system: 'local', label: 'sequential write + fsync', data: pattern.kind, dropCache: false }, async () => {
    const fh = await open(path, 'w');
    let samplesNs: Float64Array;
    try {
      samplesNs = await timeEach(requests, 1, async (i) => {
        const buf = pattern.slice(i, reqLen(i));
        const { bytesWritten } = await fh.write(buf, 0, buf.length, i * cfg.requestBytes);
        if (bytesWritten !== buf.length) throw new Error(`short write at request ${i}`);
      });
      await fh.sync(); // ObjectFS's flush returns when the data is stored: compare with stored data here too
    } finally {
      await fh.close();
    }
    return { bytes: cfg.fileBytes, count: requests, unit: 'request', samplesNs, details: { fsync: 'one fsync at the end, inside the timing' } };
  });

  await runner.run({ id: 'local.seq-read', system: 'local', label: 'sequential read (page cache dropped)', data: pattern.kind, dropCache: true }, async () => {
    const fh = await open(path, 'r');
    const buf = Buffer.allocUnsafe(cfg.requestBytes);
    let samplesNs: Float64Array;
    try {
      samplesNs = await timeEach(requests, 1, async (i) => {
        const len = reqLen(i);
        const { bytesRead } = await fh.read(buf, 0, len, i * cfg.requestBytes);
        if (bytesRead !== len || !buf.subarray(0, len).equals(pattern.slice(i, len))) throw new Error(`local read ${i}: wrong bytes`);
      });
    } finally {
      await fh.close();
    }
    return { bytes: cfg.fileBytes, count: requests, unit: 'request', samplesNs };
  });

  const offsets = randomOffsets(cfg.fileBytes, cfg.randomReadBytes, cfg.randomReads, cfg.seed);
  await runner.run({ id: 'local.rand-read', system: 'local', label: `${cfg.randomReadBytes >> 10} KiB random reads (page cache dropped)`, data: pattern.kind, dropCache: true }, async () => {
    const fh = await open(path, 'r');
    const buf = Buffer.allocUnsafe(cfg.randomReadBytes);
    let samplesNs: Float64Array;
    try {
      samplesNs = await timeEach(offsets.length, 1, async (i) => {
        const off = offsets[i] as number;
        const { bytesRead } = await fh.read(buf, 0, cfg.randomReadBytes, off);
        if (bytesRead !== cfg.randomReadBytes || !buf.equals(pattern.fileBytes(off, cfg.randomReadBytes, cfg.requestBytes))) {
          throw new Error(`local random read at ${off}: wrong bytes`);
        }
      });
    } finally {
      await fh.close();
    }
    return { bytes: offsets.length * cfg.randomReadBytes, count: offsets.length, unit: 'op', samplesNs };
  });

  const smallDir = join(cfg.dir, 'small');
  await mkdir(smallDir);
  const smallPath = (i: number): string => join(smallDir, `f${i}`);
  await runner.run({ id: 'local.small-write', system: 'local', label: `${cfg.smallFiles} × ${cfg.smallFileBytes >> 10} KiB files: open+write+close`, data: pattern.kind, dropCache: false }, async () => {
    const samplesNs = await timeEach(cfg.smallFiles, 1, async (i) => {
      const fh = await open(smallPath(i), 'w');
      try {
        await fh.write(pattern.slice(SMALL_FILE_SLICE + i, cfg.smallFileBytes), 0, cfg.smallFileBytes, 0);
      } finally {
        await fh.close();
      }
    });
    return { bytes: cfg.smallFiles * cfg.smallFileBytes, count: cfg.smallFiles, unit: 'file', samplesNs, details: { fsync: 'none (close only): the page cache holds the data' } };
  });
  await runner.run({ id: 'local.small-read', system: 'local', label: `${cfg.smallFiles} × ${cfg.smallFileBytes >> 10} KiB files: open+read+close`, data: pattern.kind, dropCache: true }, async () => {
    const buf = Buffer.allocUnsafe(cfg.smallFileBytes);
    const samplesNs = await timeEach(cfg.smallFiles, 1, async (i) => {
      const fh = await open(smallPath(i), 'r');
      try {
        const { bytesRead } = await fh.read(buf, 0, cfg.smallFileBytes, 0);
        if (bytesRead !== cfg.smallFileBytes || !buf.equals(pattern.slice(SMALL_FILE_SLICE + i, cfg.smallFileBytes))) throw new Error(`local small file ${i}: wrong bytes`);
      } finally {
        await fh.close();
      }
    });
    return { bytes: cfg.smallFiles * cfg.smallFileBytes, count: cfg.smallFiles, unit: 'file', samplesNs };
  });
}

/** Pattern slice index of small file 0 (small file i uses SMALL_FILE_SLICE + i). */
export const SMALL_FILE_SLICE = 1_000_000;

/** `n` offsets aligned to `len`, uniform over a file of `fileBytes`, from a seeded PRNG. */
export function randomOffsets(fileBytes: number, len: number, n: number, seed: number): number[] {
  const rng = makeRng(seed);
  const slots = Math.floor(fileBytes / len);
  return Array.from({ length: n }, () => rng.int(0, slots - 1) * len);
}
