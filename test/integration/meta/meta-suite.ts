/**
 * The metadata conformance suite: every MetaEngine behaviour the layers above rely on, run on
 * each engine kind by meta.<kind>.test.ts. One volume per run; each test works in a fresh
 * subdirectory (or, for volume-wide assertions, a volume of its own).
 *
 * Where the contract (src/meta/index.ts) is silent, the expected behaviour is Linux ext4's,
 * and the test says so.
 */
import { after, before, describe } from 'node:test';
import type { MetaKind } from '../../support/meta.js';
import { attrTests } from './suite-attr.js';
import { SuiteContext } from './suite-context.js';
import { createTests } from './suite-create.js';
import { engineTests } from './suite-engine.js';
import { lockTests } from './suite-locks.js';
import { nameTests } from './suite-names.js';
import { quotaTests } from './suite-quota.js';
import { readdirTests } from './suite-readdir.js';
import { removeTests } from './suite-remove.js';
import { renameTests } from './suite-rename.js';
import { trashTests } from './suite-trash.js';
import { xattrTests } from './suite-xattr.js';

/** Declares the whole conformance suite for one engine kind. */
export function metaSuite(kind: MetaKind): void {
  describe(`MetaEngine conformance on ${kind}`, () => {
    const ctx = new SuiteContext(kind);
    before(() => ctx.setUp());
    after(() => ctx.tearDown());

    createTests(ctx);
    nameTests(ctx);
    removeTests(ctx);
    renameTests(ctx);
    attrTests(ctx);
    readdirTests(ctx);
    xattrTests(ctx);
    engineTests(ctx);
    lockTests(ctx);
    trashTests(ctx);
    quotaTests(ctx);
  });
}
