/**
 * Conformance suite of the ObjectStore contract (src/object/index.ts), run on every backend
 * and decorator (JuiceFS testStorage): whatever passes here can hold ObjectFS blocks.
 * Each makeStore() must return an empty store of its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { listAll, ObjectNotFoundError } from '../../../src/object/index.js';
import type { ObjectInfo, ObjectStore } from '../../../src/object/index.js';

/** What makeStore returns: a fresh, empty store and how to dispose of it (and its data). */
export interface StoreUnderTest {
  readonly store: ObjectStore;
  readonly cleanup: () => Promise<void>;
}

/** Knobs for backends that are slow or have known deviations. */
export interface SuiteOptions {
  /** Keys for the pagination test (default 300) and the page size (default 100). */
  readonly manyKeys?: number;
  readonly pageLimit?: number;
  /**
   * Whether keys like "a", "a.c" and "a/b" list in exact byte order. Real S3 does; s3rver lists
   * in its on-disk walk order, so its runs set this false (see s3-store.test.ts).
   */
  readonly mixedSeparatorOrder?: boolean;
  /** Whether a ranged get of a zero-length object can be asked (s3rver mis-answers it). */
  readonly rangedGetOfEmpty?: boolean;
  /**
   * The page size of a listing asked with no limit (S3 servers: 1000). When given, the
   * pagination test lists its `manyKeys` keys again with no limit and checks that the pages are
   * of this size and that following the continuation tokens reaches every key.
   */
  readonly serverPageSize?: number;
}

/** Registers the conformance tests for one store implementation under describe(name). */
export function objectStoreSuite(name: string, makeStore: () => Promise<StoreUnderTest>, options: SuiteOptions = {}): void {
  const { manyKeys = 300, pageLimit = 100, mixedSeparatorOrder = true, rangedGetOfEmpty = true, serverPageSize } = options;

  describe(`ObjectStore conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: ObjectStore;
    before(async () => {
      sut = await makeStore();
      store = sut.store;
    });
    after(async () => {
      await sut?.cleanup();
    });

    test('starts empty and describes itself', async () => {
      assert.deepEqual((await store.list()).objects, []);
      assert.ok(store.describe().length > 0);
    });

    test('put then get returns the same bytes; head reports size and a recent mtime', async () => {
      const data = Buffer.from('hello, objectfs');
      await store.put('rt/hello', data);
      assert.deepEqual(await store.get('rt/hello'), data);
      const info = await store.head('rt/hello');
      assert.ok(info);
      assert.equal(info.key, 'rt/hello');
      assert.equal(info.size, data.length);
      assert.ok(Math.abs(info.mtime - Date.now()) < 10 * 60_000, `mtime ${info.mtime} is not recent`);
    });

    test('ranged get: offset, length, past the end, zero length', async () => {
      const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));
      await store.put('range/a', data);
      assert.deepEqual(await store.get('range/a', { offset: 10 }), data.subarray(10));
      assert.deepEqual(await store.get('range/a', { offset: 10, length: 5 }), data.subarray(10, 15));
      assert.deepEqual(await store.get('range/a', { length: 7 }), data.subarray(0, 7));
      assert.deepEqual(await store.get('range/a', { offset: 0, length: 100 }), data);
      assert.deepEqual(await store.get('range/a', { offset: 95, length: 20 }), data.subarray(95));
      assert.deepEqual(await store.get('range/a', { offset: 99, length: 1 }), data.subarray(99));
      assert.equal((await store.get('range/a', { offset: 100 })).length, 0);
      assert.equal((await store.get('range/a', { offset: 150, length: 10 })).length, 0);
      assert.equal((await store.get('range/a', { offset: 20, length: 0 })).length, 0);
    });

    test('zero-length object: whole and ranged get return empty', async () => {
      await store.put('range/empty', Buffer.alloc(0));
      assert.equal((await store.get('range/empty')).length, 0);
      assert.equal((await store.get('range/empty', { offset: 3, length: 0 })).length, 0);
      if (rangedGetOfEmpty) {
        assert.equal((await store.get('range/empty', { offset: 0, length: 10 })).length, 0);
        assert.equal((await store.get('range/empty', { offset: 5 })).length, 0);
      }
      assert.equal((await store.head('range/empty'))?.size, 0);
    });

    test('get of a missing key throws ObjectNotFoundError (no errno), with or without a range', async () => {
      for (const opts of [{}, { offset: 3 }, { offset: 0, length: 4 }, { length: 0 }]) {
        await assert.rejects(store.get('missing/key', opts), (err: unknown) => {
          assert.ok(err instanceof ObjectNotFoundError, `got ${String(err)}`);
          assert.equal(err.key, 'missing/key');
          assert.equal('errno' in err, false);
          return true;
        });
      }
    });

    test('head of a missing key is undefined', async () => {
      assert.equal(await store.head('missing/head'), undefined);
    });

    test('delete removes, and is idempotent', async () => {
      await store.put('del/x', Buffer.from('x'));
      await store.delete('del/x');
      assert.equal(await store.head('del/x'), undefined);
      await assert.rejects(store.get('del/x'), ObjectNotFoundError);
      await store.delete('del/x');
      await store.delete('del/never-existed');
      assert.deepEqual((await store.list({ prefix: 'del/' })).objects, []);
    });

    test('list: ascending order, prefix filter, keys with "/"', async () => {
      const keys = ['ls/b', 'ls/a', 'ls/c/2', 'ls/c/10', 'ls/c/1', 'ls/d/e/f', 'ls/aa', 'lsx'];
      await Promise.all(keys.map((k) => store.put(k, Buffer.from(k))));
      const all = (await store.list({ prefix: 'ls' })).objects.map((o) => o.key);
      assert.deepEqual(all, [...keys].sort(byteOrder));
      const sub = await store.list({ prefix: 'ls/c/' });
      assert.deepEqual(sub.objects.map((o) => o.key), ['ls/c/1', 'ls/c/10', 'ls/c/2']);
      assert.equal(sub.next, undefined);
      assert.deepEqual(sub.objects.map((o) => o.size), [6, 7, 6]);
      assert.deepEqual((await store.list({ prefix: 'ls/c/1' })).objects.map((o) => o.key), ['ls/c/1', 'ls/c/10']);
      assert.deepEqual((await store.list({ prefix: 'ls/a' })).objects.map((o) => o.key), ['ls/a', 'ls/aa']);
      assert.deepEqual((await store.list({ prefix: 'ls/zzz' })).objects, []);
      assert.deepEqual((await store.list({ prefix: 'nothing/' })).objects, []);
    });

    if (mixedSeparatorOrder) {
      test('list: byte order across "/" ("a-b" < "a.c" < "a/b" < "a0")', async () => {
        const keys = ['mix/a/b', 'mix/a.c', 'mix/a-b', 'mix/b', 'mix/a0'];
        await Promise.all(keys.map((k) => store.put(k, Buffer.from(k))));
        assert.deepEqual((await collect(store, 'mix/', 2)).map((o) => o.key), [...keys].sort(byteOrder));
      });
    }

    const defaultPages = serverPageSize === undefined ? '' : ` and with the server's default page of ${serverPageSize}`;
    test(`list: pagination over ${manyKeys} keys with limit ${pageLimit}${defaultPages}`, async () => {
      const keys = Array.from({ length: manyKeys }, (_, i) => `page/k${String(i).padStart(6, '0')}`);
      await inBatches(keys, 32, (k) => store.put(k, Buffer.from(k)));
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await store.list({ prefix: 'page/', limit: pageLimit, token });
        assert.ok(page.objects.length <= pageLimit, `page of ${page.objects.length} > ${pageLimit}`);
        seen.push(...page.objects.map((o) => o.key));
        token = page.next;
        pages++;
        assert.ok(pages <= manyKeys, 'pagination does not terminate');
      } while (token !== undefined);
      assert.deepEqual(seen, keys);
      assert.equal(pages, Math.ceil(manyKeys / pageLimit));
      let n = 0;
      for await (const o of listAll(store, 'page/')) assert.equal(o.key, keys[n++]);
      assert.equal(n, manyKeys);
      if (serverPageSize !== undefined) {
        // No limit given: the server cuts the listing into its own pages, and only the
        // continuation token leads past the first one.
        const sizes: number[] = [];
        const listed: string[] = [];
        token = undefined;
        do {
          const page = await store.list({ prefix: 'page/', token });
          sizes.push(page.objects.length);
          listed.push(...page.objects.map((o) => o.key));
          token = page.next;
          assert.ok(sizes.length <= manyKeys, 'pagination does not terminate');
        } while (token !== undefined);
        assert.deepEqual(listed, keys);
        const full = Math.floor(manyKeys / serverPageSize);
        const expected = [...Array<number>(full).fill(serverPageSize), ...(manyKeys % serverPageSize > 0 ? [manyKeys % serverPageSize] : [])];
        assert.deepEqual(sizes, expected, 'page sizes of a listing with no limit');
      }
    });

    test('list: pagination resumes inside nested "directories"', async () => {
      const keys: string[] = [];
      for (let d = 0; d < 5; d++) for (let f = 0; f < 6; f++) keys.push(`tree/${d}/${d === 2 ? 'x/' : ''}f${f}`);
      await Promise.all(keys.map((k) => store.put(k, Buffer.from(k))));
      for (const limit of [1, 7, 30, 31]) {
        assert.deepEqual((await collect(store, 'tree/', limit)).map((o) => o.key), [...keys].sort(byteOrder), `limit ${limit}`);
      }
    });

    test('overwriting with the same content is idempotent', async () => {
      const data = randomBytes(1000);
      await store.put('idem/x', data);
      await store.put('idem/x', data);
      assert.deepEqual(await store.get('idem/x'), data);
      assert.deepEqual((await store.list({ prefix: 'idem/' })).objects.map((o) => [o.key, o.size]), [['idem/x', 1000]]);
    });

    test('concurrent puts of distinct keys and of one key all land intact', async () => {
      const blobs = Array.from({ length: 40 }, (_, i) => ({ key: `conc/k${String(i).padStart(2, '0')}`, data: randomBytes(4096 + i) }));
      const same = randomBytes(64 * 1024);
      await Promise.all([
        ...blobs.map((b) => store.put(b.key, b.data)),
        ...Array.from({ length: 10 }, () => store.put('conc/same', same)),
      ]);
      for (const b of blobs) assert.deepEqual(await store.get(b.key), b.data, b.key);
      assert.deepEqual(await store.get('conc/same'), same);
      assert.equal((await store.list({ prefix: 'conc/' })).objects.length, 41);
    });

    test('binary integrity: a random 5 MiB buffer round-trips, whole and ranged', async () => {
      const data = randomBytes(5 * 1024 * 1024);
      await store.put('bin/5mib', data);
      assert.ok(data.equals(await store.get('bin/5mib')), 'whole object differs');
      const off = 1_234_567;
      assert.ok(data.subarray(off, off + 1_000_000).equals(await store.get('bin/5mib', { offset: off, length: 1_000_000 })));
      assert.ok(data.subarray(data.length - 10).equals(await store.get('bin/5mib', { offset: data.length - 10, length: 100 })));
      assert.equal((await store.head('bin/5mib'))?.size, data.length);
    });

    test('an aborted signal rejects with AbortError', async () => {
      const ac = new AbortController();
      ac.abort();
      await assert.rejects(store.get('rt/hello', { signal: ac.signal }), { name: 'AbortError' });
      await assert.rejects(store.put('abort/x', Buffer.from('x'), { signal: ac.signal }), { name: 'AbortError' });
    });

    test('close() makes a store unusable', async () => {
      const other = await makeStore();
      await other.store.put('c/x', Buffer.from('x'));
      await other.store.close();
      await assert.rejects(other.store.get('c/x'));
      await assert.rejects(other.store.list());
      await other.cleanup();
    });
  });
}

/** Byte order of UTF-8 keys, the order S3 lists in. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Every object under prefix, following tokens with page size `limit`. */
async function collect(store: ObjectStore, prefix: string, limit: number): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of listAll(store, prefix, { limit })) out.push(o);
  return out;
}

async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await fn(items[next++] as T);
  }));
}
