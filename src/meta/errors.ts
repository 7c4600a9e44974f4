/** Volume-level errors of opening and formatting (not POSIX errors: they end a command). */

/** The database holds no ObjectFS volume. */
export class NotFormattedError extends Error {
  override readonly name = 'NotFormattedError';
}

/** The volume exists and `--force` was not given. */
export class VolumeExistsError extends Error {
  override readonly name = 'VolumeExistsError';
}

/** A setting fixed at format (block size, compression) was asked to change. */
export class ImmutableSettingError extends Error {
  override readonly name = 'ImmutableSettingError';
}

/** The database was formatted by a newer ObjectFS with a schema this build does not know. */
export class SchemaTooNewError extends Error {
  override readonly name = 'SchemaTooNewError';
}

/**
 * `objectfs destroy` has begun on this volume: it cannot be opened or mounted any more, only
 * destroyed (running destroy again finishes an interrupted one).
 */
export class VolumeDestroyingError extends Error {
  override readonly name = 'VolumeDestroyingError';
}

/** The UUID given to `objectfs destroy` is not the volume's: nothing is deleted. */
export class VolumeUuidMismatchError extends Error {
  override readonly name = 'VolumeUuidMismatchError';
}
