/**
 * The layer rules of ObjectFS for dependency-cruiser, checked on every `npm test`
 * (test/unit/layers/layers.test.ts). The allowed imports between folders are not written
 * here: they are read from the "Layers" table of docs/internals.md (its "may import" column),
 * so the table people read and the rule the tests enforce cannot drift apart.
 *
 * Paths are relative to the cruise's base directory, so the same rules check src/ and the
 * test's fixture trees.
 */
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = __dirname;

/**
 * The "Layers" table: layer name (`meta`, `errors.ts`) → the layers it may import, or
 * 'everything'. Only rows of `src/` count (migrations/ is not cruised).
 */
function readLayerTable(file = join(ROOT, 'docs', 'internals.md')) {
  const text = readFileSync(file, 'utf8');
  const section = text.slice(text.indexOf('\n## Layers'), text.indexOf('\n## ', text.indexOf('\n## Layers') + 1));
  const layers = new Map();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const where = /^`src\/([^/`]+)\/?`$/.exec(cells[1] ?? '');
    if (where === null || cells.length < 5) continue;
    const may = cells[3];
    layers.set(where[1], may === 'everything' ? 'everything' : [...may.matchAll(/`([^`]+)`/g)].map((m) => m[1]));
  }
  if (layers.size === 0) throw new Error(`no layer rows found under "## Layers" in ${file}`);
  return layers;
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The paths of one layer: a folder of src/ or a single file in it. */
const pathOf = (layer) => (layer.endsWith('.ts') ? `^src/${escape(layer)}$` : `^src/${escape(layer)}/`);

const layers = readLayerTable();
/** Folders whose index.ts (and light.ts, the part that loads no I/O library) are their only doors for other folders. */
const withIndex = [...layers.keys()].filter((l) => !l.endsWith('.ts') && existsSync(join(ROOT, 'src', l, 'index.ts')));

const layerRules = [...layers]
  .filter(([, may]) => may !== 'everything')
  .map(([layer, may]) => ({
    name: `layer-${layer}`,
    comment: `src/${layer} may import only ${may.length === 0 ? 'nothing of src/' : may.join(', ')} (docs/internals.md, "Layers")`,
    severity: 'error',
    from: { path: pathOf(layer) },
    to: { path: '^src/', pathNot: [pathOf(layer), ...may.map(pathOf)] },
  }));

/** Third-party APIs each stay behind the files that own them (style.md, "Import rules"). */
const owners = [
  ['@aws-sdk/[^/]+|@smithy/[^/]+', '^src/object/s3-store\\.ts$'],
  ['lz4-napi', '^src/chunk/'],
  ['commander', '^src/cli/'],
  ['pg|@electric-sql/pglite', '^src/db/'],
  ['kysely', '^src/(db|meta)/'],
  ['prom-client', '^src/metrics/'],
  ['yaml', '^src/config/'],
];

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'import cycles, type-only ones included: a contract imported from its own barrel closes one',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'contract-only',
      comment: `another folder is reached through its index.ts or light.ts only (${withIndex.join(', ')})`,
      severity: 'error',
      from: { path: '^src/([^/]+)' },
      to: { path: `^src/(${withIndex.map(escape).join('|')})/`, pathNot: [`^src/(${withIndex.map(escape).join('|')})/(index|light)\\.ts$`, '^src/$1/'] },
    },
    ...owners.map(([pkg, where]) => ({
      name: `owner-${pkg.split('|')[0].replace(/\/.*/, '').replace(/[^a-z0-9]+/gi, '')}`,
      comment: `${pkg.replace(/\|/g, ' and ')} only from ${where}`,
      severity: 'error',
      from: { path: '^src/', pathNot: where },
      to: { path: `(^|/)node_modules/(${pkg})/` },
    })),
  ],
  options: {
    // Type-only imports count: they are what closes the contract-through-barrel cycles.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: join(ROOT, 'tsconfig.json') },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|native|node_modules)/' },
  },
};
/** For the unit test (dependency-cruiser refuses unknown keys in the configuration itself). */
Object.defineProperty(module.exports, 'layers', { value: Object.fromEntries(layers), enumerable: false });
