/**
 * Durations as people write them on command lines and in configuration files, as JuiceFS,
 * rclone and systemd accept them: '500ms', '30s', '30m', '1h', '7d', '1h30m', '1.5h'. A bare
 * number is seconds (fractions allowed), so values written before units existed keep their
 * meaning.
 */

/** Unit suffixes and their length in milliseconds. */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

// One or more <number><unit> terms; units lower-case as in Go's time.ParseDuration.
const TERM_RE = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d)/gy;
const BARE_RE = /^(\d+(?:\.\d+)?|\.\d+)$/;

function invalid(input: string, why: string): RangeError {
  return new RangeError(`invalid duration ${JSON.stringify(input)}: ${why} (expected e.g. 30, 500ms, 30s, 5m, 1h, 1h30m, 7d; a bare number is seconds)`);
}

/**
 * Seconds in a duration such as '90', '1.5', '500ms', '30m', '1h30m' or '2d'. A number given
 * as a number is seconds. Throws RangeError on anything else: empty, negative, an unknown
 * unit, a unit without a number, NaN or infinity.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isFinite(input) || input < 0) throw invalid(String(input), 'not a non-negative number of seconds');
    return input;
  }
  const text = input.trim();
  if (text === '') throw invalid(input, 'empty');
  if (text.startsWith('-')) throw invalid(input, 'negative');
  if (BARE_RE.test(text)) return Number(text);
  let ms = 0;
  TERM_RE.lastIndex = 0;
  for (let at = 0; at < text.length;) {
    const m = TERM_RE.exec(text);
    if (m === null) throw invalid(input, 'not a number with a unit of ms, s, m, h or d');
    ms += Number(m[1]) * UNIT_MS[m[2] as Unit];
    at = TERM_RE.lastIndex;
  }
  return ms / 1000;
}

/**
 * A number of seconds in the largest units that divide it exactly ('1h', '1h30m', '500ms',
 * '90s' stays '1m30s'); '0s' for zero. The inverse of parseDuration for help texts.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`formatDuration: ${seconds} is not a non-negative number`);
  let ms = Math.round(seconds * 1000);
  if (ms === 0) return '0s';
  let out = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const n = Math.floor(ms / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      ms -= n * UNIT_MS[unit];
    }
  }
  return out;
}
