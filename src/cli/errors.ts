/**
 * Turning what a command threw into a message and an exit code. Known failures (bad input,
 * unreachable services, unformatted volumes) get a one-line message; anything else is an
 * internal error and shows its stack with --debug.
 *
 * The known error classes live beside the code that throws them (the database, S3 and volume
 * layers), which a command loads only when it runs (main.ts); they are loaded here only once
 * something failed, so that a command that needs none of those layers never pays for them.
 */
import { CliError, FsError } from '../errors.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

type ErrorClass = abstract new (...args: never[]) => Error;

/** The error classes a message is enough for, and those that mean a wrong command line. */
async function knownClasses(): Promise<{ known: readonly ErrorClass[]; usage: readonly ErrorClass[] }> {
  const [db, meta, maintenance, object, format, recovery, subdir] = await Promise.all([
    import('../db/index.js'), import('../meta/index.js'), import('../maintenance/index.js'), import('../object/index.js'),
    import('../volume/format-volume.js'), import('../volume/stage-recovery.js'), import('../volume/subdir.js'),
  ]);
  return {
    known: [
      db.MetaUrlError, db.MetaUnavailableError, db.MetaNotFoundError, db.DirLockedError, meta.NotFormattedError, meta.VolumeExistsError,
      meta.ImmutableSettingError, meta.SchemaTooNewError, object.ObjectStoreError, format.StorageNotEmptyError, format.StorageProbeError,
      subdir.SubdirError, meta.VolumeDestroyingError, meta.VolumeUuidMismatchError, maintenance.DestroySessionsError,
      maintenance.DestroyDeclinedError, recovery.RecoveryStalledError,
    ],
    usage: [format.FormatSettingsError],
  };
}

export interface Failure {
  readonly exitCode: number;
  readonly message: string;
  /** Worth a stack trace under --debug (an unexpected error). */
  readonly internal: boolean;
}

export async function describeFailure(err: unknown): Promise<Failure> {
  if (err instanceof CliError) return { exitCode: err.exitCode, message: err.message, internal: false };
  if (err instanceof FsError) return { exitCode: EXIT_FAILURE, message: err.message, internal: false };
  const { known, usage } = await knownClasses();
  if (err instanceof Error && usage.some((k) => err instanceof k)) return { exitCode: EXIT_USAGE, message: err.message, internal: false };
  if (err instanceof Error && known.some((k) => err instanceof k)) return { exitCode: EXIT_FAILURE, message: err.message, internal: false };
  const message = err instanceof Error ? err.message : String(err);
  return { exitCode: EXIT_FAILURE, message: `internal error: ${message}`, internal: true };
}
