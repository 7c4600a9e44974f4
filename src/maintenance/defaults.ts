/**
 * The maintenance tools' defaults, apart from the tools: the command line shows them in its
 * help, which must not load the database and S3 layers the tools need.
 */

/** Default safety window of gc: objects and releases younger than this are never deleted. */
export const DEFAULT_GC_WINDOW_MS = 3600_000;

/** Deletions in flight by default in destroy. */
export const DEFAULT_DESTROY_THREADS = 16;
