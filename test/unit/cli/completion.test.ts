/**
 * `objectfs completion bash|zsh`: the scripts name every command and long option of the program
 * (they are written from it), parse in their shells, and the bash one completes commands,
 * options and option values when bash runs it the way programmable completion does.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { buildProgram, main } from '../../../src/cli/main.js';
import { bashCompletion, zshCompletion } from '../../../src/cli/completion.js';
import type { Output } from '../../../src/cli/output.js';

const silent: Output = { line: () => undefined, json: () => undefined, error: () => undefined };
const program = buildProgram(silent);
const dir = mkdtempSync(join(tmpdir(), 'completion-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function print(shell: string): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await main(['completion', shell], { ...silent, line: (t) => lines.push(t) });
  return { code, text: lines.join('\n') };
}

/** COMPREPLY of bash's completion function for the words typed so far (the last may be partial). */
function complete(script: string, words: readonly string[]): string[] {
  const file = join(dir, 'objectfs.bash');
  writeFileSync(file, script);
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const r = spawnSync('bash', ['--norc', '--noprofile', '-c', `source "$1"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _objectfs; printf '%s\\n' "\${COMPREPLY[@]}"`, 'bash', file], { encoding: 'utf8', cwd: dir });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('objectfs completion', () => {
  test('both scripts mention every command and every long option', async () => {
    for (const shell of ['bash', 'zsh']) {
      const { code, text } = await print(shell);
      assert.equal(code, 0);
      for (const cmd of program.commands.filter((c) => c.name() !== 'help')) {
        assert.ok(text.includes(cmd.name()), `${shell}: ${cmd.name()}`);
        for (const opt of cmd.options) if (opt.long !== undefined) assert.ok(text.includes(opt.long), `${shell}: ${cmd.name()} ${opt.long}`);
      }
    }
  });

  test('a command added to the program appears without editing anything else', () => {
    const p = buildProgram(silent);
    p.command('frobnicate').option('--wibble <FILE>', 'a file');
    assert.match(bashCompletion(p), /frobnicate\)[\s\S]*--wibble\) COMPREPLY=\(\$\(compgen -f/);
    assert.match(zshCompletion(p), /'frobnicate:'[\s\S]*'--wibble\[a file\]:FILE:_files'/);
    assert.doesNotMatch(bashCompletion(new Command('objectfs')), /frobnicate/);
  });

  test('an unknown shell is a usage error', async () => {
    const errors: string[] = [];
    assert.equal(await main(['completion', 'fish'], { ...silent, error: (t) => errors.push(t) }), 2);
    assert.match(errors.join('\n'), /^objectfs: command-argument value 'fish' is invalid/);
  });

  test('bash parses the script and completes commands, options and values', async () => {
    const { text } = await print('bash');
    assert.equal(spawnSync('bash', ['-n'], { input: text }).status, 0);
    assert.deepEqual(complete(text, ['objectfs', 'fo']), ['format']);
    assert.deepEqual(complete(text, ['objectfs', 'de']), ['destroy']);
    assert.deepEqual(complete(text, ['objectfs', 'destroy', 'x', 'u', '--y']), ['--yes']);
    assert.deepEqual(complete(text, ['objectfs', 'f']).sort(), ['format', 'fsck']);
    assert.deepEqual(complete(text, ['objectfs', '--de']), ['--debug']);
    assert.deepEqual(complete(text, ['objectfs', 'mount', 'pglite:///x', '/mnt', '--cache-d']), ['--cache-dir']);
    assert.deepEqual(complete(text, ['objectfs', 'format', 'x', 'y', '--compress', '']).sort(), ['lz4', 'none']);
    assert.deepEqual(complete(text, ['objectfs', '--debug', 'gc', 'x', '--no-p']), ['--no-progress']);
    assert.deepEqual(complete(text, ['objectfs', 'completion', '']).sort(), ['bash', 'zsh']);
    // A FILE value completes file names (here: the script itself, in the working directory).
    assert.deepEqual(complete(text, ['objectfs', 'mount', 'x', 'y', '--config', 'objectfs.b']), ['objectfs.bash']);
  });

  test('zsh parses the script', async () => {
    const { text } = await print('zsh');
    const file = join(dir, '_objectfs');
    writeFileSync(file, text);
    const r = spawnSync('zsh', ['-n', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(text, /^#compdef objectfs$/m);
  });
});
