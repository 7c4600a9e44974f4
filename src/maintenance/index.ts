/**
 * Volume maintenance: fsck (check and repair metadata and data), gc (find and delete
 * garbage objects, compact chunks) and destroy (delete a volume's objects, then its metadata).
 * They report through a Progress and never print; the CLI (cli/fsck.ts, cli/gc.ts,
 * cli/destroy.ts) renders their reports.
 */
export { runFsck, type FsckOptions } from './fsck.js';
export { FSCK_PROBLEM_KINDS, MAX_LISTED_PROBLEMS, type FsckCounts, type FsckProblem, type FsckProblemKind, type FsckReport } from './fsck-report.js';
export { runGc, DEFAULT_GC_WINDOW_MS, type GcOptions, type GcReport, type Tally } from './gc.js';
export { GC_CATEGORIES, type GcCategory } from './block-check.js';
export { SILENT_PROGRESS, type Progress, type ProgressPhase } from './progress.js';
export { runDestroy, deleteObjects, DEFAULT_DESTROY_THREADS, DestroyDeclinedError, DestroySessionsError, type DestroyOptions, type DestroyPlan, type DestroyReport } from './destroy.js';
export { describeSession, sessionRefusal } from './destroy-sessions.js';
