/**
 * O_APPEND from many hosts at once loses nothing (network-namespace bed; loopback when
 * unavailable): writers on two mounts append numbered lines to one file, with one open file each
 * or open/append/close per line. Afterwards every line each writer wrote is in the file exactly
 * once, whole, and in the order its writer wrote it (docs/semantics.md, "Appends").
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { open, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Daemon } from '../../support/e2e-daemon.js';
import { startMultiHostBed, type MultiHostBed } from '../../support/multihost.js';
import { run } from '../../support/e2e-sh.js';

const APPENDER = fileURLToPath(new URL('../../../../test/support/appender.py', import.meta.url));

let bed: MultiHostBed;
let A: Daemon;
let B: Daemon;

before(async () => {
  bed = await startMultiHostBed('appends', 2);
  process.stdout.write(`# ${bed.description}\n`);
  const vol = await bed.newVolume('appends');
  const [hostA, hostB] = bed.hosts;
  [A, B] = await Promise.all([bed.mount(hostA!, vol, 'a'), bed.mount(hostB!, vol, 'b')]);
});

after(async () => {
  await bed?.finish();
});

/** Runs `perHost` writers on each host for `seconds`; returns how many lines each tag wrote. */
async function appendFromBothHosts(name: string, perHost: number, seconds: number, mode: 'keep' | 'reopen'): Promise<Map<string, number>> {
  const writers = [A, B].flatMap((host, h) => Array.from({ length: perHost }, (_, w) => ({ path: join(host.mnt, name), tag: `h${h}w${w}${'abcd'[w]}` })));
  const results = await Promise.all(writers.map((w) => run('python3', [APPENDER, w.path, w.tag, String(seconds), mode], { timeoutMs: (seconds + 120) * 1000 })));
  const written = new Map<string, number>();
  results.forEach((r, i) => {
    assert.equal(r.code, 0, r.stderr);
    written.set(writers[i]!.tag, Number(r.stdout.trim()));
  });
  return written;
}

/** Checks the file holds exactly the lines written: each whole, once, in its writer's order. */
function checkLines(content: string, written: Map<string, number>): void {
  assert.ok(content.endsWith('\n'), 'the file ends with a whole line');
  const next = new Map([...written.keys()].map((tag) => [tag, 0]));
  const lines = content.slice(0, -1).split('\n');
  for (const [i, line] of lines.entries()) {
    const m = /^(h\dw\d[a-d]) (\d+) ([a-d]*)$/.exec(line);
    assert.ok(m !== null, `line ${i} is torn or foreign: ${JSON.stringify(line.slice(0, 80))}`);
    const [, tag, seq, fill] = m;
    const n = Number(seq);
    assert.equal(fill, tag!.at(-1)!.repeat(n % 151), `line ${i} (${tag} ${n}) is whole`);
    assert.equal(n, next.get(tag!), `line ${i}: ${tag}'s lines come once each and in order`);
    next.set(tag!, n + 1);
  }
  for (const [tag, n] of written) assert.equal(next.get(tag), n, `every line ${tag} wrote is there`);
  assert.equal(lines.length, [...written.values()].reduce((a, b) => a + b, 0));
}

describe('appends mixed with other writes on one host', () => {
  test('an append after uncommitted writes lands after them; a write after an uncommitted append lands where it was aimed', async () => {
    const path = join(A.mnt, 'mixed');
    const writer = await open(path, 'w');
    // Sixteen separate runs: sixteen slices, committed one after another, a small append's
    // single commit would overtake them.
    const expected = Buffer.alloc(15 * 1000 + 100);
    for (let i = 0; i < 16; i++) {
      const run = Buffer.alloc(100, 97 + i);
      await writer.write(run, 0, 100, i * 1000); // not committed yet (no close, no fsync)
      run.copy(expected, i * 1000);
    }
    const appender = await open(path, 'a');
    await appender.write('tail');
    await appender.close();
    assert.deepEqual(await readFile(path), Buffer.concat([expected, Buffer.from('tail')]), 'the append follows the uncommitted bytes, as on a local disk');
    const appender2 = await open(path, 'a');
    await appender2.write('more'); // not committed yet
    await writer.write(Buffer.from('Z'), 0, 1, 0);
    await writer.close();
    await appender2.close();
    expected[0] = 'Z'.charCodeAt(0);
    const final = Buffer.concat([expected, Buffer.from('tailmore')]);
    assert.deepEqual(await readFile(path), final);
    assert.deepEqual(await readFile(join(B.mnt, 'mixed')), final, 'and so on the other host');
  });
});

describe('appends from two hosts at once', () => {
  test('2 hosts × 4 writers × 20 s of O_APPEND lines (one open file each): every line once, whole, in order', async () => {
    const written = await appendFromBothHosts('log', 4, 20, 'keep');
    const total = [...written.values()].reduce((a, b) => a + b, 0);
    console.log(`appended ${total} lines in 20 s from 8 writers on 2 hosts (${Math.round(total / 20)} lines/s)`);
    checkLines((await readFile(join(A.mnt, 'log'))).toString('latin1'), written);
    assert.equal((await readFile(join(B.mnt, 'log'))).toString('latin1'), (await readFile(join(A.mnt, 'log'))).toString('latin1'), 'both hosts read the same file');
  });

  test('open, append one line, close, from 2 hosts × 2 writers: every line once, whole, in order', async () => {
    const written = await appendFromBothHosts('reopened', 2, 5, 'reopen');
    const total = [...written.values()].reduce((a, b) => a + b, 0);
    console.log(`appended ${total} lines with open/append/close in 5 s from 4 writers on 2 hosts`);
    checkLines((await readFile(join(B.mnt, 'reopened'))).toString('latin1'), written);
  });
});
