/** The commit-time quota checks' SQLSTATEs (migration 0008) as POSIX errors. */
import { FsError } from '../errors.js';

/** The SQLSTATEs of migration 0008's commit-time checks, as FsErrors; anything else unchanged. */
export function quotaErrorOf(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'OQ001') return FsError.of('EDQUOT', (err as Error).message);
  if (code === 'OQ002') return FsError.ENOSPC((err as Error).message);
  return err;
}
