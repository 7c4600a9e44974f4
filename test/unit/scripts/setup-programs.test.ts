/**
 * scripts/setup.sh provides every program the code runs: the scanner (test/support/program-scan.ts)
 * finds the programs run by test/, scripts/, src/ and bench/, scripts/programs.txt names the Debian
 * package of each, and setup.sh installs those packages (or they belong to every Debian system).
 * The scanner itself is tested on fixture strings first, so the check is known to be able to fail.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { literalAt, parseProgramTable, programsIn, shellArray, shellPrograms, tsPrograms } from '../../support/program-scan.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** The scanner and this test hold fixture strings that "run" made-up programs. */
const NOT_SCANNED = new Set(['test/support/program-scan.ts', 'test/unit/scripts/setup-programs.test.ts']);

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (/\.(ts|py|sh)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** program → the files that run it. */
function scanRepository(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const dir of ['test', 'scripts', 'src', 'bench']) {
    for (const file of sources(join(ROOT, dir))) {
      const rel = relative(ROOT, file);
      if (NOT_SCANNED.has(rel)) continue;
      for (const p of programsIn(file, readFileSync(file, 'utf8'))) found.set(p, [...(found.get(p) ?? []), rel]);
    }
  }
  return found;
}

describe('the program scanner', () => {
  test('finds the program of spawn/execFile and of the test helpers, not the arguments', () => {
    const ts = `
      spawn('frobnicate', ['--x']); execFileSync("zorkctl", args); spawnSync('id', ['-u']);
      await run('ip', ['link']); ok('tar', ['-cf', 'x']); spawn(process.execPath, [BIN]);
      obj.run('notaprogram'); spawn(cmd, args);`;
    assert.deepEqual(tsPrograms(ts).sort(), ['frobnicate', 'id', 'ip', 'tar', 'zorkctl']);
  });

  test('finds the commands of shell scripts given to the shell helpers, directly or through a const', () => {
    const ts = `
      await bash(\`mkdir x && quuxtool -a '\${src}' | sort | awk '{ print $(NF-1) }' > out; echo done\`, dir);
      const script = \`for i in $(seq 1 3); do blorp --n "$i" 2>/dev/null || true; done\`;
      await onBoth(roots, script);
      spawn('bash', ['-euo', 'pipefail', '-c', 'FOO=1 grault x; cat y']);`;
    assert.deepEqual(tsPrograms(ts).sort(), ['awk', 'bash', 'blorp', 'cat', 'grault', 'mkdir', 'quuxtool', 'seq', 'sort']);
  });

  test('a const holding Python is not read as shell when a later call reuses the name', () => {
    const ts = `
      const script = \`import os\\nprint(os.listdir('.'))\`;
      await python(script, dir);
      const other = 1;
      const script2 = 'x';
      { const script = \`shelltool x\`; await bash(script, dir); }`;
    assert.deepEqual(tsPrograms(ts), ['shelltool']);
  });

  test('shell: builtins, keywords, assignments, redirections, functions and wrappers', () => {
    const sh = `
      set -euo pipefail
      quietly() { "$@" >/dev/null; }
      # commentedtool is not run
      X=1 Y=2 envtool arg
      if ! checktool -q; then sudo -E installtool x; fi
      quietly "\${SUDO[@]}" env A=1 wrappedtool -y
      ((n > 0)) && cd /tmp
      ARR=(notcmd1 notcmd2)
      "\${objectfs[@]}" format x
      cat <<EOF | readtool
      heredoctext should not count
      EOF
      echo "$(subtool) and \`oldsub\`"
      major() { versiontool --version; }
      if (($(major) < 22)); then :; fi`;
    assert.deepEqual(shellPrograms(sh).sort(), ['cat', 'checktool', 'envtool', 'installtool', 'oldsub', 'readtool', 'subtool', 'versiontool', 'wrappedtool']);
  });

  test('Python subprocess lists', () => {
    assert.deepEqual(programsIn('x.py', `subprocess.run(['pytool', '-x'], check=True)\nsubprocess.check_output(["pytool2"])`), ['pytool', 'pytool2']);
  });

  test('literals: escapes and template substitutions', () => {
    assert.equal(literalAt("x = 'a\\'b'", 4), "a'b");
    assert.equal(literalAt('`a${f(`x`)}b`', 0), 'a$Vb');
    assert.equal(literalAt('nope', 0), undefined);
  });

  test('the table and setup.sh arrays parse, with comments', () => {
    assert.deepEqual([...parseProgramTable('# c\nrsync rsync # why\n\nnode -\n')], [['rsync', 'rsync'], ['node', '-']]);
    assert.throws(() => parseProgramTable('rsync\n'), /bad line/);
    assert.deepEqual(shellArray('A=(x)\nPACKAGES=(\n  # group (with parens)\n  a b\n  c\n)\n', 'PACKAGES'), ['a', 'b', 'c']);
  });

  test('the repository check fails on a program nobody installs', () => {
    const table = parseProgramTable(readFileSync(join(ROOT, 'scripts/programs.txt'), 'utf8'));
    const spawned = tsPrograms(`await bash('rsync -a x y && frobnicate-9000 --now', dir)`);
    assert.deepEqual(spawned.filter((p) => !table.has(p)), ['frobnicate-9000']);
  });
});

describe('setup.sh provides every program the code runs', () => {
  const table = parseProgramTable(readFileSync(join(ROOT, 'scripts/programs.txt'), 'utf8'));
  const setup = readFileSync(join(ROOT, 'scripts/setup.sh'), 'utf8');
  const found = scanRepository();

  test('every program run by test/, scripts/, src/ or bench/ is in scripts/programs.txt', () => {
    const missing = [...found].filter(([p]) => !table.has(p)).map(([p, files]) => `${p} (run by ${files.join(', ')})`);
    assert.deepEqual(missing, [], 'add each to scripts/programs.txt with its Debian package, and the package to PACKAGES in setup.sh');
  });

  test('every row of scripts/programs.txt is still run by something', () => {
    const stale = [...table.keys()].filter((p) => !found.has(p));
    assert.deepEqual(stale, [], 'remove these rows from scripts/programs.txt (or teach the scanner how they are run)');
  });

  test('every package of the table is installed by setup.sh or part of every Debian system', () => {
    const installs = new Set(shellArray(setup, 'PACKAGES'));
    const base = new Set(shellArray(setup, 'BASE_PACKAGES'));
    const unprovided = [...table].filter(([, pkg]) => pkg !== '-' && !installs.has(pkg) && !base.has(pkg)).map(([p, pkg]) => `${p} → ${pkg}`);
    assert.deepEqual(unprovided, [], 'add these packages to PACKAGES in scripts/setup.sh');
    assert.deepEqual([...installs].filter((p) => base.has(p)), [], 'a package is either installed or base, not both');
  });

  test('setup.sh checks the table with command -v and names the package', () => {
    assert.match(setup, /done <scripts\/programs\.txt/);
    assert.match(setup, /command -v "\$program"/);
    assert.match(setup, /Debian package \$package/);
  });
});
