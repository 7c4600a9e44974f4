import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery, type DatabaseConnection, type QueryResult } from 'kysely';
import type { Database } from '../../../src/db/index.js';
import { ChangeFeed, decodeChanges, encodeChanges } from '../../../src/meta/change-feed.js';

describe('change feed payloads', () => {
  test('round-trip: changed inodes and renamed ones, origin kept', () => {
    const [payload, ...rest] = encodeChanges('abc123', { inos: new Set([1, 42, 7]), renamed: new Set([42]), entries: [] });
    assert.deepEqual(rest, []);
    assert.equal(payload, 'abc123 1,~42,7');
    const back = decodeChanges(payload!);
    assert.equal(back?.origin, 'abc123');
    assert.deepEqual([...back!.change.inos], [1, 42, 7]);
    assert.deepEqual([...back!.change.renamed], [42]);
  });

  test('large batches split below NOTIFY\'s 8000-byte limit and lose nothing', () => {
    const inos = new Set(Array.from({ length: 5000 }, (_, i) => 1_000_000_000 + i));
    const renamed = new Set([...inos].filter((i) => i % 3 === 0));
    const payloads = encodeChanges('o', { inos, renamed, entries: [] });
    assert.ok(payloads.length > 1);
    for (const p of payloads) assert.ok(Buffer.byteLength(p) < 8000, `payload of ${Buffer.byteLength(p)} bytes`);
    const seen = new Set<number>();
    const seenRenamed = new Set<number>();
    for (const p of payloads) {
      const d = decodeChanges(p)!;
      for (const i of d.change.inos) seen.add(i);
      for (const i of d.change.renamed) seenRenamed.add(i);
    }
    assert.deepEqual([...seen].sort(), [...inos].sort());
    assert.deepEqual([...seenRenamed].sort(), [...renamed].sort());
  });

  test('entry names travel as raw bytes (any byte, up to 255 of them) and split like inodes', () => {
    const odd = Buffer.from([0xff, 0x00, 0x2c, 0x40, 0x2f, 0x20]); // not UTF-8, with , @ / and space
    const long = Buffer.alloc(255, 0x61);
    const entries = [{ parent: 1, name: odd }, ...Array.from({ length: 40 }, (_, i) => ({ parent: 100 + i, name: long }))];
    const payloads = encodeChanges('o', { inos: new Set([5]), renamed: new Set(), entries });
    assert.ok(payloads.length > 1, 'forty 255-byte names do not fit one payload');
    const back = payloads.map((p) => decodeChanges(p)!.change);
    assert.deepEqual(back.flatMap((c) => c.entries), entries);
    assert.deepEqual(back.flatMap((c) => [...c.inos]), [5]);
  });

  test('an empty change sends nothing', () => {
    assert.deepEqual(encodeChanges('o', { inos: new Set(), renamed: new Set(), entries: [] }), []);
  });

  test('malformed payloads are refused (the receiver then drops everything)', () => {
    for (const bad of ['', 'noinodes', ' 1,2', 'o 1,,2', 'o x', 'o -3', 'o ~', 'o 1.5', 'o 0', 'o @1', 'o @0/61', 'o @1/6', 'o @1/zz', 'o @x/61']) {
      assert.equal(decodeChanges(bad), undefined, JSON.stringify(bad));
    }
  });
});

/** A database recording each payload; its first statement never answers when `firstHangs`, the others answer at once. */
function fakeDatabase(payloads: string[], firstHangs: boolean): Kysely<Database> {
  let statements = 0;
  const connection: DatabaseConnection = {
    executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      payloads.push(String(query.parameters[1]));
      return statements++ === 0 && firstHangs ? new Promise(() => undefined) : Promise.resolve({ rows: [] });
    },
    // eslint-disable-next-line require-yield
    async *streamQuery() { throw new Error('not used'); },
  };
  class Driver extends DummyDriver {
    override acquireConnection(): Promise<DatabaseConnection> { return Promise.resolve(connection); }
  }
  return new Kysely<Database>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new Driver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}

describe('change feed sending', () => {
  test('an announcement of nothing (a compaction that lost its race) does not stop later ones', async () => {
    const payloads: string[] = [];
    const feed = new ChangeFeed(fakeDatabase(payloads, false), () => { throw new Error('not listening'); });
    feed.publish([]);
    feed.publish([undefined, 0]);
    feed.publish([33]);
    for (const started = Date.now(); Date.now() - started < 2_000 && payloads.length < 1; await sleep(5));
    assert.deepEqual(payloads.map((p) => decodeChanges(p)?.change.inos), [new Set([33])]);
    await feed.close();
  });

  test('a notice that never goes out stops holding up later ones after the deadline', async () => {
    const payloads: string[] = [];
    const feed = new ChangeFeed(fakeDatabase(payloads, true), () => { throw new Error('not listening'); }, undefined, { sendDeadlineMs: 50 });
    const until = async (n: number) => { for (const started = Date.now(); Date.now() - started < 2_000 && payloads.length < n; await sleep(5)); };
    feed.publish([11]);
    await until(1);
    feed.publish([22]); // while the first is stuck
    await until(2);
    assert.deepEqual(payloads.map((p) => decodeChanges(p)?.change.inos), [new Set([11]), new Set([22])]);
    await feed.close();
  });
});

