/** `mount --background`'s wait for its daemon, counted again while write-back leftovers go up. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MountWait } from '../../../src/cli/mount-record.js';

test('the wait expires after its limit unless the daemon reports more uploaded', () => {
  const wait = new MountWait(120_000, 0);
  assert.equal(wait.expired(119_999), false);
  assert.equal(wait.expired(120_000), true);
  assert.equal(wait.recovering, false);

  wait.saw({ pid: 7, uploaded: 0, total: 10 }, 7, 100_000);
  assert.equal(wait.recovering, true);
  assert.equal(wait.expired(219_999), false, 'the first report starts the count again');
  wait.saw({ pid: 7, uploaded: 0, total: 10 }, 7, 200_000);
  assert.equal(wait.expired(220_000), true, 'the same figure again is no progress');
});

test('more uploaded counts again; another process, or no record, does not', () => {
  const wait = new MountWait(1000, 0);
  wait.saw({ pid: 8, uploaded: 5, total: 10 }, 7, 900);
  wait.saw(undefined, 7, 900);
  assert.equal(wait.expired(1000), true, 'a record of another daemon is ignored');
  wait.saw({ pid: 7, uploaded: 3, total: 10 }, 7, 1500);
  assert.equal(wait.expired(2499), false);
  wait.saw({ pid: 7, uploaded: 9, total: 10 }, 7, 2400);
  assert.equal(wait.expired(3399), false, 'each new figure gives the whole limit again');
  assert.equal(wait.expired(3400), true);
});
