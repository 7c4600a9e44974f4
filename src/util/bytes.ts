/**
 * Byte sizes as people write them ('4M', '1.5GiB', '64K') and as tools print them
 * ('4.0 MiB'). Units are always binary (K = 1024), as in JuiceFS and dd; 'KB' and 'KiB'
 * mean the same.
 */

/** Unit letters and their multipliers: K = 2^10 … P = 2^50. */
const UNIT_SHIFT = { '': 0n, K: 10n, M: 20n, G: 30n, T: 40n, P: 50n } as const;
type UnitLetter = keyof typeof UNIT_SHIFT;

/** Units used by formatBytes, each 1024 times the previous. */
const FORMAT_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'] as const;

// number [space] [unit letter [i]] [B]; case-insensitive. An 'i' needs a unit letter.
const SIZE_RE = /^(\d+)(?:\.(\d+))?\s*(?:([KMGTP])(I)?)?(B)?$/i;

function invalid(input: string, why: string): RangeError {
  return new RangeError(
    `invalid byte size ${JSON.stringify(input)}: ${why} (expected e.g. 4096, 64K, 4M, 4MiB, 1.5G; units are binary: K=1024)`,
  );
}

/**
 * Bytes in a size such as '4096', '64K', '4M', '4MiB', '4MB', '1.5G' or '2 TiB'.
 *
 * Units K, M, G, T, P are binary (powers of 1024) and case-insensitive, with an optional
 * 'i' and an optional 'B' ('B' alone means bytes). A fraction is allowed when the result is
 * a whole number of bytes ('1.5K' = 1536, '0.1K' is an error). A number is accepted as is
 * when it is a non-negative safe integer. Throws RangeError on anything else: empty,
 * negative, garbage, a fractional byte count, or more than 2^53 - 1.
 */
export function parseByteSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) throw invalid(String(input), 'not a non-negative whole number of bytes');
    return input;
  }
  const text = input.trim();
  if (text.startsWith('-')) throw invalid(input, 'negative');
  const m = SIZE_RE.exec(text);
  if (m === null) throw invalid(input, text === '' ? 'empty' : 'not a number with an optional unit');
  const [, whole = '', fraction = '', letter = ''] = m;
  const unit = letter.toUpperCase() as UnitLetter;
  // Exact arithmetic: value = (whole.fraction) * 2^shift, which must be an integer.
  const scale = 10n ** BigInt(fraction.length);
  const scaled = (BigInt(whole) * scale + BigInt(fraction === '' ? '0' : fraction)) << UNIT_SHIFT[unit];
  if (scaled % scale !== 0n) throw invalid(input, 'not a whole number of bytes');
  const bytes = scaled / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(input, 'larger than 2^53 - 1 bytes');
  return Number(bytes);
}

/**
 * A byte count for people: '512 B' below 1 KiB, otherwise one decimal in the largest binary
 * unit that keeps the number below 1024 ('4.0 MiB', '1.5 GiB'). Negative counts keep their
 * sign. Throws RangeError on NaN or infinity.
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`formatBytes: ${n} is not a finite number`);
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  if (abs < 1024) return `${sign}${abs} B`;
  let unit = 0;
  let value = abs;
  while (unit < FORMAT_UNITS.length - 1 && value >= 1024) {
    value /= 1024;
    unit++;
  }
  let text = value.toFixed(1);
  // 1048575 is 1023.999 KiB, which rounds to 1024.0; print it as 1.0 MiB instead.
  if (text === '1024.0' && unit < FORMAT_UNITS.length - 1) {
    unit++;
    text = '1.0';
  }
  return `${sign}${text} ${FORMAT_UNITS[unit]}`;
}
