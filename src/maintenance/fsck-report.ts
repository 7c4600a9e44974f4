/** What fsck found and did: problem kinds, the report, and the bounded collector that builds it. */

export const FSCK_PROBLEM_KINDS = [
  'bad-type', 'dangling-edge', 'edge-type', 'parent-not-directory', 'directory-names', 'link-count', 'orphan',
  'corrupt-chunk', 'orphan-chunk', 'slice-refs', 'pending-referenced', 'usage', 'missing-block', 'corrupt-block', 'staged-block', 'quota-usage',
] as const;
export type FsckProblemKind = (typeof FSCK_PROBLEM_KINDS)[number];

/** One thing wrong, with the file it breaks when there is one. */
export interface FsckProblem {
  readonly kind: FsckProblemKind;
  readonly ino?: number;
  /** Path of `ino` from the root, when it has one. */
  path?: string;
  readonly detail: string;
  /** What --repair did about it (absent when not repaired). */
  repaired?: string;
}

/** What fsck looked at. */
export interface FsckCounts {
  inodes: number;
  edges: number;
  chunks: number;
  slices: number;
  blocks: number;
  /** Uncompressed bytes of the blocks checked. */
  bytes: number;
  /** Blocks downloaded and decoded (--verify). */
  verified: number;
}

export interface FsckReport {
  /** True when no problem is left (none found, or every one repaired). */
  readonly healthy: boolean;
  /** The subtree checked ("/" for the whole volume). */
  readonly path: string;
  readonly counts: FsckCounts;
  /** Problems, at most MAX_LISTED_PROBLEMS of them. */
  readonly problems: readonly FsckProblem[];
  /** All problems found, listed or not. */
  readonly problemCount: number;
  /** Problems left unrepaired. */
  readonly unrepaired: number;
  readonly elapsedMs: number;
}

/** Problems kept in memory and reported one by one; beyond it they are only counted. */
export const MAX_LISTED_PROBLEMS = 10_000;

/** Fixes fsck --repair can make; gathered during the scan, applied after it. */
export type RepairCandidate =
  | { readonly kind: 'link-count'; readonly ino: number }
  | { readonly kind: 'orphan'; readonly ino: number }
  | { readonly kind: 'usage' }
  | { readonly kind: 'quota-usage'; readonly ino: number }
  | { readonly kind: 'slice-refs'; readonly id: number; readonly size: number };

export class ProblemLog {
  readonly problems: FsckProblem[] = [];
  readonly repairs: { readonly fix: RepairCandidate; readonly problem: FsckProblem }[] = [];
  count = 0;

  add(problem: FsckProblem, fix?: RepairCandidate): void {
    this.count++;
    if (this.problems.length < MAX_LISTED_PROBLEMS) this.problems.push(problem);
    if (fix !== undefined && this.repairs.length < MAX_LISTED_PROBLEMS) this.repairs.push({ fix, problem });
  }
}
