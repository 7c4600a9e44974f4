/**
 * Turning what a command threw into a message and an exit code. Known failures (bad input,
 * unreachable services, unformatted volumes) get a one-line message; anything else is an
 * internal error and shows its stack with --debug.
 */
import { CliError, FsError } from '../errors.js';
import { DirLockedError, MetaNotFoundError, MetaUnavailableError, MetaUrlError } from '../db/index.js';
import { ImmutableSettingError, NotFormattedError, SchemaTooNewError, VolumeDestroyingError, VolumeExistsError, VolumeUuidMismatchError } from '../meta/index.js';
import { DestroyDeclinedError, DestroySessionsError } from '../maintenance/index.js';
import { ObjectStoreError } from '../object/index.js';
import { FormatSettingsError, StorageNotEmptyError, StorageProbeError } from '../volume/format-volume.js';
import { RecoveryStalledError } from '../volume/stage-recovery.js';
import { SubdirError } from '../volume/subdir.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

type ErrorClass = abstract new (...args: never[]) => Error;

const KNOWN: readonly ErrorClass[] = [
  MetaUrlError, MetaUnavailableError, MetaNotFoundError, DirLockedError, NotFormattedError, VolumeExistsError, ImmutableSettingError,
  SchemaTooNewError, ObjectStoreError, StorageNotEmptyError, StorageProbeError, FsError, SubdirError,
  VolumeDestroyingError, VolumeUuidMismatchError, DestroySessionsError, DestroyDeclinedError, RecoveryStalledError,
];
/** Errors that mean the command line was wrong (exit 2, as commander's own). */
const USAGE: readonly ErrorClass[] = [FormatSettingsError];

export interface Failure {
  readonly exitCode: number;
  readonly message: string;
  /** Worth a stack trace under --debug (an unexpected error). */
  readonly internal: boolean;
}

export function describeFailure(err: unknown): Failure {
  if (err instanceof CliError) return { exitCode: err.exitCode, message: err.message, internal: false };
  if (err instanceof Error && USAGE.some((k) => err instanceof k)) return { exitCode: EXIT_USAGE, message: err.message, internal: false };
  if (err instanceof Error && KNOWN.some((k) => err instanceof k)) return { exitCode: EXIT_FAILURE, message: err.message, internal: false };
  const message = err instanceof Error ? err.message : String(err);
  return { exitCode: EXIT_FAILURE, message: `internal error: ${message}`, internal: true };
}
