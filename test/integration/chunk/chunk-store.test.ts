/**
 * The chunk store suite on a real FileStore in a temp dir and on S3Store against the test
 * bed's s3rver (started by `npm test`; see test/support/s3.ts). Fault paths, back-pressure
 * and scheduling are in chunk-store.faults.test.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, listAll, openObjectStore } from '../../../src/object/index.js';
import { testS3Url } from '../../support/s3.js';
import { chunkStoreSuite } from './chunk-store-suite.js';

chunkStoreSuite('FileStore', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'objectfs-chunk-'));
  const store = new FileStore(dir);
  return { store, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
});

chunkStoreSuite('S3Store (s3rver)', async (hint) => {
  const url = testS3Url(hint); // throws, loudly, without the test bed
  const store = await openObjectStore(url, { maxAttempts: 3, retryBaseDelayMs: 50 });
  return {
    store,
    cleanup: async () => {
      const keys: string[] = [];
      for await (const o of listAll(store)) keys.push(o.key);
      for (let i = 0; i < keys.length; i += 32) await Promise.all(keys.slice(i, i + 32).map((k) => store.delete(k)));
      await store.close();
    },
  };
}, {
  // s3rver competes for the same two CPUs; the SDK no longer hashes bodies on the main thread
  // (the lz4 worker does), which took p99 from about 125 ms to 15 ms here.
  maxLoopDelayMs: 75,
});
