/**
 * The trash's hour directories (`2026-12-05-16`, UTC): names and what they stand for. Pure, and
 * apart from meta/trash.ts so that the command line can check an hour it is given without
 * loading the database layer.
 */

export const HOUR_MS = 3_600_000;

/** `2026-12-05-16`: the UTC hour that `ms` falls in. */
export function hourName(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace('T', '-');
}

/** Hours since the epoch that an hour directory's name stands for, or undefined if it is not one. */
export function parseHourName(name: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})$/.exec(name);
  if (m === null) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]));
  return Number.isFinite(ms) && hourName(ms) === name ? ms / HOUR_MS : undefined;
}
