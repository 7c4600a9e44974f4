/** Option parsers for commander: each throws a CliError(usage) naming the option. */
import { InvalidArgumentError } from 'commander';
import { parseByteSize } from '../util/bytes.js';

export function byteSizeOption(value: string): number {
  try {
    return parseByteSize(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export function wholeNumberOption(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`"${value}" is too large`);
  return n;
}

/** A non-negative number of seconds (fractions allowed). */
export function secondsOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a number of seconds`);
  return n;
}

/** A whole number of at least 1. */
export function positiveIntOption(value: string): number {
  const n = wholeNumberOption(value);
  if (n < 1) throw new InvalidArgumentError(`"${value}" must be at least 1`);
  return n;
}
