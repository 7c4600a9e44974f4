/**
 * The byte ranges one lock owner holds on a file, and how a lock request changes them (pure):
 * POSIX semantics, where a new lock replaces whatever the owner held over its range (upgrade,
 * downgrade or unlock of part of a range splits it) and touching ranges of one type merge.
 */

/** The end of a range that runs to the end of the file, however long it grows. */
export const LOCK_EOF = Number.MAX_SAFE_INTEGER;

export type LockType = 'read' | 'write';

export interface LockRange {
  readonly type: LockType;
  /** First byte. */
  readonly lo: number;
  /** One past the last byte (LOCK_EOF: to the end of the file). */
  readonly hi: number;
}

/** Whether two locks of different owners conflict: they overlap and one of them is a write lock. */
export function conflicts(a: { type: LockType; lo: number; hi: number }, b: { type: LockType; lo: number; hi: number }): boolean {
  return a.lo < b.hi && b.lo < a.hi && (a.type === 'write' || b.type === 'write');
}

/**
 * The owner's ranges after a request over [lo, hi): `type` locks it, undefined unlocks it.
 * Sorted by start; touching or overlapping ranges of one type are merged.
 */
export function applyLock(held: readonly LockRange[], lo: number, hi: number, type: LockType | undefined): LockRange[] {
  const out: LockRange[] = [];
  for (const r of held) {
    if (r.hi <= lo || r.lo >= hi) {
      out.push(r);
      continue;
    }
    if (r.lo < lo) out.push({ type: r.type, lo: r.lo, hi: lo });
    if (r.hi > hi) out.push({ type: r.type, lo: hi, hi: r.hi });
  }
  if (type !== undefined) out.push({ type, lo, hi });
  out.sort((a, b) => a.lo - b.lo);
  const merged: LockRange[] = [];
  for (const r of out) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.type === r.type && last.hi >= r.lo) merged[merged.length - 1] = { type: r.type, lo: last.lo, hi: Math.max(last.hi, r.hi) };
    else merged.push(r);
  }
  return merged;
}

/** Whether `after` gives up anything `before` held (a release or a downgrade: waiters may proceed). */
export function releasesAny(before: readonly LockRange[], after: readonly LockRange[]): boolean {
  for (const b of before) {
    let covered = b.lo;
    // `after` is sorted and merged: walk the parts of it that keep b's bytes at b's strength.
    for (const a of after) {
      if (a.hi <= covered || a.lo > covered) continue;
      if (b.type === 'write' && a.type !== 'write') return true;
      covered = Math.min(a.hi, b.hi);
      if (covered >= b.hi) break;
    }
    if (covered < b.hi) return true;
  }
  return false;
}
