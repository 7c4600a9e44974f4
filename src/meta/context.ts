/**
 * What every operation family of the engine shares: the database, id allocation, usage
 * counters, the open-file table of this client and the clock. Passed explicitly; no globals.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/index.js';
import type { Metrics } from '../metrics/index.js';
import type { RetryPolicy } from '../util/retry.js';
import type { IdAllocator } from './ids.js';
import type { UsageCounters } from './counters.js';
import type { OpenFiles } from './open-files.js';
import type { VolumeRecord } from './types.js';

export type Db = Kysely<Database> | Transaction<Database>;

export interface MetaContext {
  readonly db: Kysely<Database>;
  readonly volume: VolumeRecord;
  readonly inodeIds: IdAllocator;
  readonly sliceIds: IdAllocator;
  readonly usage: UsageCounters;
  readonly openFiles: OpenFiles;
  /** This client's session id, once registered (needed to keep unlinked-but-open files). */
  sid: number | undefined;
  /** Nanoseconds since the epoch. */
  now(): bigint;
  /** Where transaction latency and restarts are recorded, if anywhere. */
  readonly metrics?: Metrics | undefined;
  /** How operations are retried on lost connections and conflicts (tx.ts metaRetryPolicy). */
  readonly retry: RetryPolicy;
}

/** Wall-clock time in ns (ms precision from Date, plus the sub-ms part from hrtime). */
export function nowNs(): bigint {
  const ms = BigInt(Date.now());
  const subMs = process.hrtime.bigint() % 1_000_000n;
  return ms * 1_000_000n + subMs;
}
