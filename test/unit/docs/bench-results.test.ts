/**
 * bench/results holds the runs that docs/benchmarks.md cites, and only those: every figure in
 * the document can be traced to its JSON (commit, machine, config), and no stray run sits there
 * looking like evidence for something the document does not say.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** File names cited as bench/results/NAME, with `a-{x,y}.json` standing for a-x.json and a-y.json. */
function citedResults(markdown: string): Set<string> {
  const cited = new Set<string>();
  for (const m of markdown.matchAll(/bench\/results\/([\w.{},-]+\.json)/g)) {
    const name = m[1] as string;
    const brace = /^(.*)\{([^}]*)\}(.*)$/.exec(name);
    if (brace === null) cited.add(name);
    else for (const alt of (brace[2] as string).split(',')) cited.add(`${brace[1]}${alt}${brace[3]}`);
  }
  return cited;
}

test('citations are read with their brace forms', () => {
  assert.deepEqual([...citedResults('in bench/results/a-{x,y}.json and bench/results/b.json; bench/results/.')].sort(), ['a-x.json', 'a-y.json', 'b.json']);
});

test('bench/results holds exactly the JSON files docs/benchmarks.md cites', () => {
  const cited = citedResults(readFileSync(`${ROOT}docs/benchmarks.md`, 'utf8'));
  const present = new Set(readdirSync(`${ROOT}bench/results`).filter((f) => f.endsWith('.json')));
  assert.deepEqual([...present].filter((f) => !cited.has(f)), [], 'not cited by docs/benchmarks.md: cite them or remove them');
  assert.deepEqual([...cited].filter((f) => !present.has(f)), [], 'cited by docs/benchmarks.md but missing from bench/results');
});
