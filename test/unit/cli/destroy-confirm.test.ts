/**
 * destroy's confirmation (src/cli/destroy.ts): on a terminal the volume's name must be typed;
 * without one it refuses (exit 1) and says --yes; the plan names what will go, storage
 * credentials masked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { CliError } from '../../../src/errors.js';
import { confirmOnTerminal, planLines } from '../../../src/cli/destroy.js';
import type { DestroyPlan } from '../../../src/maintenance/index.js';

const PLAN: DestroyPlan = {
  name: 'shared', uuid: '0b9a3c1e-5f1a-4c57-9a43-3f9f1e7f3a10', storage: 's3://bucket/p?endpoint=http://127.0.0.1:9000', prefix: 'shared/',
  meta: 'postgres://objectfs:****@db/objectfs', usedInodes: 12, usedBytes: 3 << 20, objects: 40, objectBytes: 5 << 20, sessions: [],
};

/** A fake terminal: `typed` arrives on its input once the question is out. */
async function ask(typed: string | null, isTTY = true): Promise<{ answer: boolean; shown: string }> {
  const input = Object.assign(new PassThrough(), { isTTY });
  const output = new PassThrough();
  let shown = '';
  output.on('data', (d: Buffer) => { shown += d.toString(); });
  const pending = confirmOnTerminal(PLAN, { input, output });
  // null: the terminal ends (Ctrl-D) instead of answering.
  setImmediate(() => (typed === null ? input.end() : input.write(`${typed}\n`)));
  return { answer: await pending, shown };
}

describe('destroy confirmation', () => {
  test("typing the volume's name goes on; anything else does not", async () => {
    const yes = await ask('shared');
    assert.equal(yes.answer, true);
    assert.match(yes.shown, /deletes every object and all metadata of volume "shared" for good\. Type the volume's name to go on: /);
    assert.equal((await ask('y')).answer, false);
    assert.equal((await ask('shared2')).answer, false);
    assert.equal((await ask(null)).answer, false, 'Ctrl-D is a no');
  });

  test('no terminal: refused with exit 1, saying --yes', async () => {
    await assert.rejects(ask('shared', false), (err: unknown) => {
      assert.ok(err instanceof CliError);
      assert.equal(err.exitCode, 1);
      assert.match(err.message, /standard input is not a terminal: nothing was deleted; run again with --yes to destroy volume "shared" \(0b9a3c1e-/);
      return true;
    });
  });

  test('the plan: name, uuid, metadata, usage, objects under the prefix, a resumed run', () => {
    const lines = planLines({ ...PLAN, resumingSince: Date.parse('2026-12-05T10:00:00Z') });
    assert.equal(lines[0], 'about to destroy volume "shared" (0b9a3c1e-5f1a-4c57-9a43-3f9f1e7f3a10):');
    assert.match(lines[1]!, /metadata: +postgres:\/\/objectfs:\*\*\*\*@db\/objectfs \(every ObjectFS table: 12 inode\(s\), 3\.0 MiB in use\)/);
    assert.match(lines[2]!, /objects: +40 \(5\.0 MiB\) under "shared\/" in s3:\/\/bucket\/p/);
    assert.match(lines[3]!, /a destroy began at 2026-12-05T10:00:00.000Z and did not finish: this run finishes it/);
  });
});
