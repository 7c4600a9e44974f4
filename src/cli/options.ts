/**
 * Option parsers for commander. Each throws commander's InvalidArgumentError, which commander
 * reports as "option '--flag <V>' argument 'x' is invalid. <why>" (so the flag is always named)
 * and main.ts turns into exit 2.
 */
import { InvalidArgumentError } from 'commander';
import { parseByteSize } from '../util/bytes.js';
import { parseDuration } from '../util/duration.js';
import { normalizeSubdir } from '../config/subdir.js';
import { parseHourName } from '../meta/light.js';

/** A byte size: 4096, 64K, 4M, 1.5G (binary units). */
export function byteSizeOption(value: string): number {
  try {
    return parseByteSize(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** A whole number, 0 included. */
export function wholeNumberOption(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${value}" is too large`);
  return n;
}

/**
 * A non-negative duration in seconds: '30' (seconds, fractions allowed), '500ms', '30m', '1h',
 * '1h30m', '7d'.
 */
export function durationOption(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The old name of durationOption, kept for code written against it: every time takes units. */
export const secondsOption = durationOption;

/** A whole number of at least 1. */
export function positiveIntOption(value: string): number {
  const n = wholeNumberOption(value);
  if (n < 1) throw new InvalidArgumentError(`"${value}" must be at least 1`);
  return n;
}

/** Days deleted files stay in the trash: 0 (off) to 3650, as format accepts. */
export function trashDaysOption(value: string): number {
  const n = wholeNumberOption(value);
  if (n > 3650) throw new InvalidArgumentError(`"${value}" is more than 3650 days`);
  return n;
}

/** An hour directory of the trash: `YYYY-MM-DD-HH` (UTC), as `objectfs trash` lists them. */
export function trashHourOption(value: string): string {
  if (parseHourName(value) === undefined) throw new InvalidArgumentError(`"${value}" is not an hour of the trash (YYYY-MM-DD-HH, UTC)`);
  return value;
}

/** A directory of the volume, from its root: `/a/b` or `a/b` (normalized to `/a/b`); no `..`, not empty. */
export function subdirOption(value: string): string {
  try {
    return normalizeSubdir(value);
  } catch (err) {
    throw new InvalidArgumentError(`"${value}" ${(err as Error).message}`);
  }
}
