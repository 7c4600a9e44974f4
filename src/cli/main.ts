/**
 * The objectfs command. Commands throw, and describeFailure turns what they threw into one line
 * and an exit code (1 failure, 2 usage); bin.ts sets the exit code. Every error line starts
 * `objectfs: `, commander's own (unknown option, bad value, missing argument) included.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { describeFailure, EXIT_USAGE } from './errors.js';
import { registerFormat } from './format.js';
import { registerFsck } from './fsck.js';
import { registerGc } from './gc.js';
import { registerDestroy } from './destroy.js';
import { registerDump } from './dump.js';
import { stdOutput, type Output } from './output.js';
import { registerStatus } from './status.js';
import { registerMount } from './mount.js';
import { registerUmount } from './umount.js';
import { registerInfo } from './info.js';
import { registerWarmup } from './warmup.js';
import { registerConfig } from './config.js';
import { registerBench } from './bench.js';
import { registerCompletion } from './completion.js';
import { registerRestore } from './restore.js';
import { registerTrash } from './trash.js';
import { registerQuota } from './quota.js';

/**
 * Every line of an error starts with the program's name (commander's own "error: " becomes
 * that), so scripts and people can tell our messages from the output of commands we run.
 */
export function asErrorLines(text: string): string {
  return text.replace(/\n$/, '').split('\n').map((line) => (line.startsWith('objectfs: ') ? line : `objectfs: ${line.replace(/^error: /, '')}`)).join('\n');
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(out: Output = stdOutput, argv: readonly string[] = []): Command {
  const program = new Command('objectfs')
    .description('a POSIX filesystem on S3 with PostgreSQL metadata')
    .version(packageVersion())
    .option('--debug', 'show stack traces of internal errors')
    .showHelpAfterError('objectfs: run "objectfs --help" for usage')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out.line(s.replace(/\n$/, '')),
      writeErr: (s) => out.error(s.replace(/\n$/, '')),
      outputError: (s, write) => write(`${asErrorLines(s)}\n`),
    });
  registerFormat(program, out);
  registerStatus(program, out);
  registerMount(program, argv);
  registerUmount(program, out);
  registerInfo(program, out);
  registerWarmup(program, out);
  registerConfig(program, out);
  registerBench(program, out);
  registerFsck(program, out);
  registerGc(program, out);
  registerTrash(program, out);
  registerRestore(program, out);
  registerDestroy(program, out);
  registerDump(program, out);
  registerQuota(program, out);
  registerCompletion(program, out);
  for (const cmd of program.commands) {
    cmd.exitOverride();
    cmd.showHelpAfterError(`objectfs: run "objectfs ${cmd.name()} --help" for usage`);
  }
  return program;
}

export async function main(argv: readonly string[], out: Output = stdOutput): Promise<number> {
  const program = buildProgram(out, argv);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; commander already printed usage errors.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    const failure = await describeFailure(err);
    out.error(asErrorLines(failure.message));
    if (failure.internal && program.opts<{ debug?: boolean }>().debug && err instanceof Error) out.error(err.stack ?? '');
    return failure.exitCode;
  }
}
