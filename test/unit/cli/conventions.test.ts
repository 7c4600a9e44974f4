/**
 * The CLI's conventions, checked over the program's own list of commands and options (so a new
 * flag is covered without editing this file): every value-taking option refuses garbage with
 * exit 2 and names itself, every error line starts "objectfs: ", help shows sizes and times as
 * people write them, and commands that print a result or show progress have --json and
 * --no-progress. Runs `main` in-process with a capturing output; no command gets far enough
 * to touch a volume (positional arguments point at paths that do not exist).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command, Option } from 'commander';
import { buildProgram, main } from '../../../src/cli/main.js';
import type { Output } from '../../../src/cli/output.js';

const SRC_CLI = fileURLToPath(new URL('../../../../src/cli/', import.meta.url));
const NOWHERE = '/nonexistent/objectfs-cli-test';
/**
 * Options whose value is free text (a path, URL or list) for which 'abc', '-1' and 'NaN' are
 * valid values (--subdir's bad values are checked on their own below).
 */
const FREE_TEXT = new Set(['--storage', '--config', '--log', '--cache-dir', '--path', '--options', '--subdir']);
/** Commands that print no result of their own: completion prints a script. */
const NO_RESULT = new Set(['completion']);

interface Captured {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function cli(argv: readonly string[]): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const sink: Output = { line: (t) => out.push(t), json: (v) => out.push(JSON.stringify(v)), error: (t) => err.push(t) };
  const code = await main(argv, sink);
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

const silent: Output = { line: () => undefined, json: () => undefined, error: () => undefined };
const program = buildProgram(silent);
const commands = program.commands.filter((c) => c.name() !== 'help');

/** Positional words a command needs, all pointing nowhere (an argument with choices gets its first). */
function positionals(cmd: Command): string[] {
  return cmd.registeredArguments.filter((a) => a.required).map((a) => a.argChoices?.[0] ?? NOWHERE);
}

const takesValue = (o: Option) => o.required || o.optional;

describe('every value-taking option refuses a bad value: exit 2, the flag named, objectfs: first', () => {
  for (const cmd of commands) {
    for (const opt of cmd.options.filter((o) => takesValue(o) && !FREE_TEXT.has(o.long ?? ''))) {
      test(`${cmd.name()} ${opt.long}`, async () => {
        for (const bad of ['abc', '-1', 'NaN']) {
          const r = await cli([cmd.name(), ...positionals(cmd), opt.long as string, bad]);
          assert.equal(r.code, 2, `${cmd.name()} ${opt.long} ${bad}: exit ${r.code}\n${r.stderr}`);
          const first = r.stderr.split('\n')[0] ?? '';
          assert.match(first, /^objectfs: /, r.stderr);
          assert.ok(first.includes(opt.long as string), `the message names ${opt.long}: ${first}`);
        }
      });
    }
  }
});

describe('the cases of the issue', () => {
  test('umount --timeout abc is a usage error, not NaN', async () => {
    const r = await cli(['umount', NOWHERE, '--timeout', 'abc']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^objectfs: option '--timeout <DURATION>' argument 'abc' is invalid/);
    assert.doesNotMatch(r.stderr, /NaN/);
  });

  test('mount --buffer-size 0 is a usage error naming the flag, before anything is opened', async () => {
    const r = await cli(['mount', `pglite://${NOWHERE}`, NOWHERE, '--buffer-size', '0']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /^objectfs: buffer-size \(--buffer-size\): 0 must be at least 1 B/);
    assert.doesNotMatch(r.stderr, /internal error/);
  });

  test('mount --subdir: "..", an empty value are usage errors naming the flag or the -o option; a path is accepted', async () => {
    for (const [args, named] of [
      [['--subdir', '../x'], "option '--subdir <VOLUME_PATH>' argument '../x' is invalid"],
      [['--subdir', '/a/../b'], "option '--subdir <VOLUME_PATH>' argument '/a/../b' is invalid"],
      [['--subdir', ''], "option '--subdir <VOLUME_PATH>' argument '' is invalid"],
      [['-o', 'subdir=a/..'], 'subdir (-o subdir)'],
      [['-o', 'subdir='], 'subdir (-o subdir)'],
    ] as const) {
      const r = await cli(['mount', `pglite://${NOWHERE}`, NOWHERE, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.ok((r.stderr.split('\n')[0] ?? '').startsWith(`objectfs: ${named}`), `${args.join(' ')}: ${r.stderr}`);
    }
    // Parsing succeeds: the command goes on and fails on the missing volume (exit 1).
    const ok = await cli(['mount', `pglite://${NOWHERE}`, NOWHERE, '--subdir', 'a/b']);
    assert.equal(ok.code, 1, ok.stderr);
  });

  test('format: block size out of range and unknown compression are usage errors naming the flag', async () => {
    for (const [flag, value] of [['--block-size', '3K'], ['--block-size', '32M'], ['--compress', 'zstd'], ['--trash-days', '5000']] as const) {
      const r = await cli(['format', `pglite://${NOWHERE}`, 'v', '--storage', `file://${NOWHERE}`, flag, value]);
      assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^objectfs: option '${flag} <\\w+>' argument '${value}' is invalid`));
    }
  });

  test('destroy needs the uuid, and --threads at least 1', async () => {
    const missing = await cli(['destroy', `pglite://${NOWHERE}`]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /^objectfs: missing UUID \(objectfs destroy META_URL UUID/);
    const zero = await cli(['destroy', `pglite://${NOWHERE}`, 'u', '--threads', '0']);
    assert.equal(zero.code, 2, zero.stderr);
    assert.match(zero.stderr, /^objectfs: option '--threads <N>' argument '0' is invalid/);
  });

  test('durations with units are accepted where a time is taken', async () => {
    // Parsing succeeds, so each command goes on and fails on the missing volume (exit 1), not on the flag.
    for (const argv of [
      ['gc', NOWHERE, '--window', '1h'], ['umount', NOWHERE, '--timeout', '90s'],
      ['mount', NOWHERE, NOWHERE, '--attr-timeout', '500ms', '--entry-timeout', '2s', '--negative-timeout', '1.5', '--delete-delay', '30m'],
    ]) {
      const r = await cli(argv);
      assert.equal(r.code, 1, `${argv.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /--(window|timeout|attr-timeout|delete-delay)/);
    }
  });
});

describe('error lines', () => {
  test("commander's own errors start with objectfs: (unknown command, unknown option, missing argument)", async () => {
    for (const argv of [['frobnicate'], ['status', NOWHERE, '--frobnicate'], ['status'], ['format', 'x', 'y']]) {
      const r = await cli(argv);
      assert.equal(r.code, 2, argv.join(' '));
      for (const line of r.stderr.split('\n')) assert.match(line, /^objectfs: /, `${argv.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^error:/m);
    }
  });

  test('a runtime error starts with objectfs: and is exit 1', async () => {
    const r = await cli(['status', NOWHERE]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^objectfs: invalid metadata URL/);
  });
});

describe('help and result flags', () => {
  test('no help shows a byte or second count where a size or duration is meant', async () => {
    for (const cmd of [undefined, ...commands]) {
      const r = await cli(cmd === undefined ? ['--help'] : [cmd.name(), '--help']);
      assert.equal(r.code, 0);
      assert.doesNotMatch(r.stdout, /default:?\s+\d{4,}\b/, `${cmd?.name() ?? 'objectfs'} --help:\n${r.stdout}`);
    }
    const bench = await cli(['bench', '--help']);
    assert.match(bench.stdout, /\(default:\s+256M\)/);
    assert.match((await cli(['umount', '--help'])).stdout, /\(default:\s+5m\)/);
    assert.match((await cli(['gc', '--help'])).stdout, /default\s+1h/);
  });

  test('objectfs --help lists every command', async () => {
    const r = await cli(['--help']);
    for (const cmd of commands) assert.match(r.stdout, new RegExp(`^  ${cmd.name()}\\b`, 'm'), cmd.name());
  });

  test('--json on every command that prints a result', () => {
    const without = commands.filter((c) => !NO_RESULT.has(c.name()) && !c.options.some((o) => o.long === '--json')).map((c) => c.name());
    assert.deepEqual(without, []);
  });

  test('--no-progress on every command that can show progress', () => {
    for (const file of readdirSync(SRC_CLI).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(`${SRC_CLI}${file}`, 'utf8');
      if (!/streamProgress\(/.test(text) || file === 'progress.ts') continue;
      const cmd = commands.find((c) => c.name() === file.replace(/\.ts$/, ''));
      assert.ok(cmd, `${file} shows progress but is no command`);
      assert.ok(cmd.options.some((o) => o.long === '--no-progress'), `${cmd.name()} shows progress without --no-progress`);
    }
  });
});
