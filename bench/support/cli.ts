/**
 * Command-line plumbing shared by the benchmarks: usage errors, integer flags, the versions of
 * installed packages, and the "bad flags: print why and the usage, exit 2" step of each main().
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/support/ sits two levels below it, in dist/ or not). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export class UsageError extends Error {}

/** `--flag`'s value as a positive integer, `dflt` when absent. */
export function positiveInt(flag: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${flag} must be a positive integer, not "${v}"`);
  return n;
}

/** The version in `dir`/package.json (an installed package by default), or 'unknown'. */
export function packageVersion(name: string, dir = join(REPO_ROOT, 'node_modules', name)): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The parsed configuration, or undefined after printing the error and `usage` (exit 2). */
export function configFromArgs<T>(parse: (argv: string[]) => T, usage: string): T | undefined {
  try {
    return parse(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${usage}\n`);
    return undefined;
  }
}
