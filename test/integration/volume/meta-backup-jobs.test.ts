/**
 * The metadata backup job between several instances ("hosts") of one volume on PostgreSQL and
 * a directory store, with short intervals: together they make one backup per interval, not one
 * each; only the last `keep` stay; a failed upload is reported with the last good backup kept
 * beside it, and the next success replaces the report.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { freshDataVolume, KiB, type DataVolume } from '../../support/data-volume.js';
import { FaultyStore, listAll, type ObjectStore } from '../../../src/object/index.js';
import { volumeStatus } from '../../../src/volume/volume-status.js';
import type { MetaBackupFailure, MetaBackupReport } from '../../../src/volume/meta-backup.js';

let dv: DataVolume;

before(async () => {
  dv = await freshDataVolume('meta-backup-jobs', { meta: 'postgres', data: 'file', blockSize: 64 * KiB });
});

after(async () => {
  await dv?.cleanup();
});

async function backups(): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listAll(dv.objects, 'meta-backup/')) keys.push(o.key);
  return keys.sort();
}

/** Counts the backup uploads an instance makes. */
function counting(counter: { puts: number }): (store: ObjectStore) => ObjectStore {
  return (store) => new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'put') {
        return (key: string, data: Buffer, options?: Parameters<ObjectStore['put']>[2]) => {
          if (key.startsWith('meta-backup/')) counter.puts++;
          return target.put(key, data, options);
        };
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

test('three instances make one backup per interval between them, and keep the last N', async () => {
  const counters = [{ puts: 0 }, { puts: 0 }, { puts: 0 }];
  const hosts = await Promise.all(counters.map((c) => dv.open({ wrapStore: counting(c), metaBackup: { intervalMs: 1000, keep: 2 } })));
  await sleep(6500); // the first check about 1 s in, then one per second: about 6 backups in all
  const total = counters.reduce((a, c) => a + c.puts, 0);
  assert.ok(total >= 3 && total <= 7, `backups made by three instances in 6.5 s with a 1 s interval: ${total} (${counters.map((c) => c.puts).join(', ')})`);
  const keys = await backups();
  assert.equal(keys.length, 2, `only the last 2 stay: ${keys.join(', ')}`);
  const status = await volumeStatus(dv.metaUrl);
  assert.ok(status.lastBackup !== null && 'key' in status.lastBackup && keys.includes(status.lastBackup.key));
  for (const h of hosts) await h.close();
});

test('a failed upload is reported with the last good backup; the next success replaces it', async () => {
  let faulty: FaultyStore | undefined;
  const host = await dv.open({ wrapStore: (s) => (faulty = new FaultyStore(s)), metaBackup: { intervalMs: 700, keep: 3 } });
  try {
    let started = Date.now();
    const good = async (): Promise<MetaBackupReport> => {
      for (let i = 0; i < 40; i++) {
        const b = (await volumeStatus(dv.metaUrl)).lastBackup;
        if (b !== null && 'key' in b && Date.parse(b.time) > started) return b;
        await sleep(250);
      }
      throw new Error('no backup reported in 10 s');
    };
    const first = await good();
    faulty?.failAlways(['put']);
    let failure: MetaBackupFailure | undefined;
    for (let i = 0; i < 40 && failure === undefined; i++) {
      const b = (await volumeStatus(dv.metaUrl)).lastBackup;
      if (b !== null && 'error' in b) failure = b;
      else await sleep(250);
    }
    assert.ok(failure !== undefined, 'a failed backup is reported');
    assert.equal(failure.lastGood?.key, first.key, 'the report of the failure keeps the last good backup');
    faulty?.heal();
    started = Date.now();
    const next = await good();
    assert.notEqual(next.key, first.key);
  } finally {
    await host.close();
  }
});
