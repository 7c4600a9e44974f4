/** DirStreams: positions of open directory listings over a keyset page source (pure logic). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DirStreams, DOTS, type PageSource } from '../../../src/fuse/dir-streams.js';
import type { Attr, DirEntry } from '../../../src/vfs/index.js';

/** A directory held in a sorted array; counts the queries. */
function directory(names: string[]): { source: PageSource; names: string[]; queries: () => number } {
  let queries = 0;
  const entry = (name: string, i: number): DirEntry => ({ name: Buffer.from(name), ino: 100 + i, type: 'file', attr: { ino: 100 + i } as Attr });
  const source: PageSource = async (_ino, after, limit) => {
    queries++;
    const sorted = [...names].sort();
    const rest = sorted.filter((n) => after === undefined || Buffer.compare(Buffer.from(n), after) > 0);
    const page = rest.slice(0, limit);
    return { entries: page.map((n) => entry(n, sorted.indexOf(n))), ...(rest.length > limit ? { next: Buffer.from(page[page.length - 1] as string) } : {}) };
  };
  return { source, names, queries: () => queries };
}

/** Lists like the kernel: ask from `from`, take up to `take` of what is offered, until empty. */
async function list(streams: DirStreams, fh: number, take: number): Promise<string[]> {
  const seen: string[] = [];
  let from = DOTS;
  for (;;) {
    const offered = await streams.entriesFrom(fh, from, 3);
    if (offered.length === 0) return seen;
    const taken = offered.slice(0, take);
    seen.push(...taken.map((e) => e.name.toString()));
    streams.consumed(fh, from, taken.length, offered.length, taken[taken.length - 1]?.name);
    from += taken.length;
  }
}

describe('DirStreams', () => {
  test('every name once, in order, whatever the kernel takes of each reply', async () => {
    const dir = directory(['e', 'a', 'c', 'b', 'd', 'f', 'g']);
    const streams = new DirStreams(dir.source);
    for (const take of [1, 2, 3]) assert.deepEqual(await list(streams, streams.open(1), take), ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  });

  test('a directory that fits one reply is one snapshot: a name added after it is not listed', async () => {
    const dir = directory(['new']);
    const streams = new DirStreams(dir.source);
    const fh = streams.open(1);
    const first = await streams.entriesFrom(fh, DOTS, 3);
    streams.consumed(fh, DOTS, 1, 1, first[0]?.name);
    dir.names.push('old'); // renamed back by another host meanwhile
    const queries = dir.queries();
    assert.deepEqual(await streams.entriesFrom(fh, DOTS + 1, 3), []);
    assert.equal(dir.queries(), queries, 'no query after the end was reached');
  });

  test('an offset other than the expected one starts over and skips (seekdir, rewinddir)', async () => {
    const dir = directory(['a', 'b', 'c', 'd']);
    const streams = new DirStreams(dir.source);
    const fh = streams.open(1);
    const first = await streams.entriesFrom(fh, DOTS, 3);
    streams.consumed(fh, DOTS, 3, 3, first[2]?.name);
    assert.deepEqual((await streams.entriesFrom(fh, DOTS + 1, 3)).map((e) => e.name.toString()), ['b', 'c', 'd']);
    assert.deepEqual((await streams.entriesFrom(fh, DOTS, 2)).map((e) => e.name.toString()), ['a', 'b']);
  });

  test('release forgets the stream', () => {
    const streams = new DirStreams(directory([]).source);
    const fh = streams.open(1);
    assert.equal(streams.size, 1);
    streams.release(fh);
    assert.equal(streams.size, 0);
  });
  test('a directory removed while open keeps its attributes until its last stream is released; one not open is not kept', () => {
    const streams = new DirStreams(directory([]).source);
    const gone = { ino: 7, nlink: 0 } as Attr;
    const a = streams.open(7);
    const b = streams.open(7);
    streams.removed(gone);
    streams.removed({ ino: 8, nlink: 0 } as Attr);
    assert.equal(streams.removedAttr(7), gone);
    assert.equal(streams.removedAttr(8), undefined, 'no stream on it: nothing kept');
    streams.release(a);
    assert.equal(streams.removedAttr(7), gone, 'another stream is still open');
    streams.release(b);
    assert.equal(streams.removedAttr(7), undefined, 'forgotten with the last release');
  });
});
