/** The progress output of fsck and gc (src/cli/progress.ts): the line, and bar vs plain lines. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { progressLine, streamProgress } from '../../../src/cli/progress.js';

describe('progressLine', () => {
  test('with a total: bar on a terminal, count of total, rate, elapsed and ETA', () => {
    const line = progressLine('gc: listing', 250, 0, 5000, 1000, true);
    assert.equal(line, 'gc: listing: [######..................] 250/1000 50/s 0:05 ETA 0:15');
    assert.equal(progressLine('gc: listing', 250, 0, 5000, 1000, false), 'gc: listing: 250/1000 50/s 0:05 ETA 0:15');
  });
  test('without a total: count, bytes and byte rate, no ETA', () => {
    assert.equal(progressLine('fsck: listing objects', 3, 2 * 1024 * 1024, 2000, undefined, true), 'fsck: listing objects: 3 2.0 MiB 1.0 MiB/s 1.5/s 0:02');
  });
  test('hours in the clock', () => {
    assert.match(progressLine('x', 1, 0, 3_725_000, 2, false), / 1:02:05 ETA 1:02:05$/);
  });
});

describe('streamProgress', () => {
  const sink = (isTTY: boolean) => {
    const writes: string[] = [];
    return { writes, stream: { isTTY, write: (s: string) => { writes.push(s); return true; } } as unknown as NodeJS.WriteStream };
  };
  test('a terminal gets one line redrawn in place, ended by a newline', () => {
    const { writes, stream } = sink(true);
    const phase = streamProgress('gc', stream).phase('listing', 4);
    phase.add(2);
    phase.end();
    assert.equal(writes.length, 2);
    assert.match(writes[0]!, /^\r\x1b\[Kgc: listing: \[#{12}\.{12}\] 2\/4 /);
    assert.equal(writes[1], '\n');
  });
  test('anything else gets plain lines: none for quick progress, one at the end', () => {
    const { writes, stream } = sink(false);
    const phase = streamProgress('fsck', stream).phase('checking inodes');
    phase.add(1000);
    phase.add(500);
    phase.end();
    assert.equal(writes.length, 1);
    assert.match(writes[0]!, /^fsck: checking inodes: 1500 .*\n$/);
  });
});
