/**
 * The multi-host bed's network names: beds of concurrently running test files must never share
 * a prefix, since a bed's teardown deletes every namespace and link under its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { claimPrefix } from '../../support/multihost.js';
import { removeNetworks } from '../../support/teardown.js';

const links = (): string[] => (spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout ?? '')
  .split('\n').map((line) => /^\d+: ([^:@]+)/.exec(line)?.[1] ?? '');

test('a prefix another bed holds is never claimed again: the next draw is taken', (t) => {
  const base = `ofz${randomBytes(2).toString('hex')}`;
  t.after(() => assert.deepEqual(removeNetworks(base), []));
  const draws = ['aaaa', 'aaaa', 'aaaa', 'bbbb'];
  const draw = (): string => draws.shift() ?? 'cccc';
  const first = claimPrefix(base, draw);
  const second = claimPrefix(base, draw);
  assert.equal(first, `${base}aaaa`);
  assert.equal(second, `${base}bbbb`, 'the second bed drew the first one\'s suffix twice and took the next');
  assert.ok(links().includes(`${first}br`) && links().includes(`${second}br`));
  assert.equal(`${second}h9o`.length <= 15, true, 'every name fits the 15 bytes of an interface name');
});

test('a claim gives up after 16 taken draws instead of sharing a prefix', (t) => {
  const base = `ofz${randomBytes(2).toString('hex')}`;
  t.after(() => assert.deepEqual(removeNetworks(base), []));
  claimPrefix(base, () => 'dddd');
  assert.throws(() => claimPrefix(base, () => 'dddd'), /no free network name prefix/);
});
