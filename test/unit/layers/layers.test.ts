/**
 * The layers of docs/internals.md are enforced by dependency-cruiser with the rules of
 * .dependency-cruiser.cjs (read from that table): src/ passes them, and a fixture tree that
 * breaks each kind of rule (an upward import, a deep import past an index.ts, a cycle through a
 * barrel, a third-party API outside its owner) is reported, so the check is known to be able to
 * fail.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise, type ICruiseResult, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

/** Violations of the project's rules in `paths` (relative to `baseDir`). */
async function violations(baseDir: string, paths: string[]): Promise<IViolation[]> {
  const options = await extractDepcruiseOptions(CONFIG);
  const tsConfig = extractTSConfig(join(ROOT, 'tsconfig.json'));
  const { output } = await cruise(paths, { ...options, baseDir, validate: true }, {}, { tsConfig });
  return (output as ICruiseResult).summary.violations;
}

const show = (v: readonly IViolation[]) => v.map((x) => `${x.rule.name}: ${x.from} → ${x.to}`).join('\n');

describe('layer rules', () => {
  test('src/ breaks none of them', async () => {
    const found = await violations(ROOT, ['src']);
    assert.equal(found.length, 0, `imports that docs/internals.md ("Layers") does not allow:\n${show(found)}`);
  });

  test('every folder and top-level file of src/ has a row in the table', async () => {
    const layers = (createRequire(import.meta.url)(CONFIG) as { layers: Record<string, unknown> }).layers;
    const entries = await readdir(join(ROOT, 'src'));
    const missing = entries.filter((e) => !(e in layers));
    assert.deepEqual(missing, [], 'add a row to the "Layers" table of docs/internals.md');
    assert.deepEqual(layers['vfs'], ['meta', 'chunk', 'errors.ts', 'util', 'metrics'], 'the table is read as written');
  });
});

describe('a fixture tree that breaks them', () => {
  let dir = '';
  const files: Record<string, string> = {
    // upward: meta is below vfs
    'src/meta/index.ts': `import type { Vfs } from '../vfs/index.js';\nexport type Up = Vfs;\n`,
    // allowed: vfs over meta, through its index
    'src/vfs/index.ts': `import type { Up } from '../meta/index.js';\nexport interface Vfs { readonly x: number }\nexport type Down = Up;\n`,
    // past an index.ts: chunk/keys.ts instead of chunk/index.ts
    'src/vfs/reader.ts': `import { KEY } from '../chunk/keys.js';\nexport const K = KEY;\n`,
    'src/chunk/index.ts': `export { KEY } from './keys.js';\n`,
    'src/chunk/keys.ts': `export const KEY = 'k';\n`,
    // the fuse adapter reaching meta instead of the vfs
    'src/fuse/ops.ts': `import type { Up } from '../meta/index.js';\nexport type Op = Up;\n`,
    // a type-only cycle through a barrel: the contract lives in index.ts
    'src/cache/index.ts': `export { MemoryCache } from './memory-cache.js';\nexport interface BlockCache { get(): void }\n`,
    'src/cache/memory-cache.ts': `import type { BlockCache } from './index.js';\nexport class MemoryCache implements BlockCache { get(): void {} }\n`,
    // a third-party API outside its owner (commander belongs to cli/)
    'src/object/parse.ts': `import { Command } from 'commander';\nexport const c = new Command();\n`,
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'layers-'));
    for (const [path, text] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    }
    // Third-party names resolve as in the repository.
    await symlink(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  });
  after(async () => { if (dir !== '') await rm(dir, { recursive: true, force: true }); });

  test('reports each broken rule, and nothing that is allowed', async () => {
    const found = await violations(dir, ['src']);
    // A third-party module resolves through the symlink to a path outside the tree: only its rule and source matter.
    const pairs = found.map((v) => (v.rule.name.startsWith('owner-') ? `${v.rule.name} ${v.from}` : `${v.rule.name} ${v.from} ${v.to}`)).sort();
    assert.deepEqual(pairs, [
      'contract-only src/vfs/reader.ts src/chunk/keys.ts',
      'layer-fuse src/fuse/ops.ts src/meta/index.ts',
      'layer-meta src/meta/index.ts src/vfs/index.ts',
      'no-circular src/cache/index.ts src/cache/memory-cache.ts',
      'no-circular src/meta/index.ts src/vfs/index.ts',
      'owner-commander src/object/parse.ts',
    ], show(found));
  });
});
