/**
 * Typed errors of the object layer. Backends classify their foreign errors (SDK, fs) into
 * these at the edge, so upper layers branch on classes, never on message text.
 *
 * Only StorageUnavailableError carries an errno: a store that cannot be reached is an I/O
 * error whoever asks. ObjectNotFoundError deliberately has none, because what a missing
 * object means (a corrupt volume, a benign race in gc, a cache miss) is for the caller to decide;
 * an unhandled one falls through toErrno as EIO.
 */
import { constants } from 'node:os';

/** Base class of every error the object layer throws on purpose. */
export class ObjectStoreError extends Error {
  override readonly name: string = 'ObjectStoreError';

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Error.captureStackTrace?.(this, new.target);
  }
}

/** `key` does not exist in the store (get only; head returns undefined, delete succeeds). */
export class ObjectNotFoundError extends ObjectStoreError {
  override readonly name = 'ObjectNotFoundError';
  readonly key: string;

  constructor(key: string, where: string, options?: { cause?: unknown }) {
    super(`object "${key}" not found in ${where}`, options);
    this.key = key;
  }
}

/**
 * The store could not be reached or kept failing (network errors, 5xx, throttling, timeouts)
 * after the backend's retries. Maps to EIO through errors.ts#toErrno.
 */
export class StorageUnavailableError extends ObjectStoreError {
  override readonly name = 'StorageUnavailableError';
  /** EIO: the HasErrno contract of src/errors.ts. */
  readonly errno: number = constants.errno.EIO;
  /** How many attempts were made before giving up (1 when the backend does not retry). */
  readonly attempts: number;

  constructor(message: string, options?: { cause?: unknown; attempts?: number }) {
    super(message, options);
    this.attempts = options?.attempts ?? 1;
  }
}

/**
 * Credentials were missing, wrong or not allowed to do the operation. The message names the
 * endpoint and where the credentials came from (env vars, profile, options), never the secret.
 * Retrying does not help, so it is never retried.
 */
export class StorageAuthError extends ObjectStoreError {
  override readonly name = 'StorageAuthError';
  readonly endpoint: string;

  constructor(message: string, endpoint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.endpoint = endpoint;
  }
}

/** The configured bucket does not exist at the endpoint (a configuration error, never retried). */
export class BucketNotFoundError extends ObjectStoreError {
  override readonly name = 'BucketNotFoundError';
  readonly bucket: string;
  readonly endpoint: string;

  constructor(bucket: string, endpoint: string, options?: { cause?: unknown }) {
    super(`bucket "${bucket}" does not exist at ${endpoint}; create it first or fix the storage URL`, options);
    this.bucket = bucket;
    this.endpoint = endpoint;
  }
}
