/**
 * The command line loads the layers a command needs only when that command runs: `--help`,
 * `--version`, every command's help and a refused command line load none of the database, S3,
 * metrics, cache or codec libraries (they cost about half a second of start-up together). Each
 * case runs in a fresh Node process whose module resolutions are recorded by a resolve hook.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { buildProgram } from '../../../src/cli/main.js';

const MAIN = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));
const HEAVY = ['pg', 'kysely', '@electric-sql/pglite', '@aws-sdk/', '@smithy/', 'prom-client', 'lz4-napi', 'lru-cache'];
const execFileP = promisify(execFile);

/** The packages (under node_modules) and native addons that `main(argv)` loaded in a fresh process. */
async function loadedBy(argv: readonly string[]): Promise<{ code: number; packages: string[] }> {
  const script = `
    import module from 'node:module';
    const seen = new Set();
    module.registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
    const { main } = await import(${JSON.stringify(MAIN)});
    const quiet = { line() {}, json() {}, error() {} };
    const code = await main(${JSON.stringify(argv)}, quiet);
    const packages = [...seen].flatMap((u) => {
      if (u.endsWith('.node')) return [u];
      const at = u.lastIndexOf('/node_modules/');
      if (at < 0) return [];
      const parts = u.slice(at + 14).split('/');
      return [parts[0].startsWith('@') ? parts[0] + '/' + parts[1] : parts[0]];
    });
    process.stdout.write(JSON.stringify({ code, packages: [...new Set(packages)] }));`;
  const { stdout } = await execFileP(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_DISABLE_COMPILE_CACHE: '1' } });
  return JSON.parse(stdout) as { code: number; packages: string[] };
}

function heavyOf(packages: readonly string[]): string[] {
  return packages.filter((p) => p.endsWith('.node') || HEAVY.some((h) => (h.endsWith('/') ? p.startsWith(h) : p === h)));
}

describe('the command line loads a layer only for the command that needs it', () => {
  test('the hook sees what a command loads (a command that runs loads the database layer)', async () => {
    // status of a database nobody listens on: it fails, after loading what it needs.
    const r = await loadedBy(['status', 'postgres://nobody@127.0.0.1:1/none']);
    assert.equal(r.code, 1);
    assert.ok(r.packages.includes('pg'), `status loaded ${r.packages.join(', ')}`);
  });

  test('--help, --version and a refused command line load none of the heavy libraries', async () => {
    for (const argv of [['--help'], ['--version'], ['format'], ['mount', '--cache-size', 'lots', 'x', 'y'], ['fsck', '--threads', '0']]) {
      const r = await loadedBy(argv);
      assert.notEqual(r.code, undefined);
      assert.deepEqual(heavyOf(r.packages), [], `objectfs ${argv.join(' ')} loaded ${r.packages.join(', ')}`);
    }
  });

  test("every command's --help loads none of them", async () => {
    const names = buildProgram().commands.map((c) => c.name());
    assert.ok(names.length >= 15, `only ${names.length} commands`);
    const loads = await Promise.all(names.map(async (name) => ({ name, heavy: heavyOf((await loadedBy([name, '--help'])).packages) })));
    assert.deepEqual(loads.filter((l) => l.heavy.length > 0), []);
  });
});
