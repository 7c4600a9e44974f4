import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ReadFences } from '../../../src/fuse/read-fences.js';

test('settled: at once without reads; after the last read of the file ends otherwise', async () => {
  const fences = new ReadFences();
  await fences.settled(7); // no read in flight: resolves
  fences.begin(7);
  fences.begin(7);
  let done = false;
  void fences.settled(7).then(() => { done = true; });
  fences.end(7);
  await sleep(20);
  assert.equal(done, false, 'one read is still in flight');
  fences.end(7);
  await sleep(20);
  assert.equal(done, true);
});

test('settled waiters do not take the places of held invalidations, and are not held again by a new read', async () => {
  const fences = new ReadFences();
  const ran: string[] = [];
  fences.begin(3);
  for (let i = 0; i < 3; i++) void fences.settled(3).then(() => ran.push(`open ${i}`));
  fences.after(3, () => ran.push('invalidate'));
  fences.end(3);
  fences.begin(3); // a new read before the settle pause ends
  await sleep(20);
  assert.deepEqual(ran.sort(), ['open 0', 'open 1', 'open 2'], 'the opens go; the invalidation waits for the new read');
  fences.end(3);
  await sleep(20);
  assert.ok(ran.includes('invalidate'));
});
