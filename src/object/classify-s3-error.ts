/**
 * Classification of errors thrown by the AWS SDK (and the Node http stack under it) into the
 * few kinds the object layer acts on. Pure: it reads only `name`, `code`, `$metadata` and
 * `$retryable`, the fields the SDK documents, so it needs no SDK import and no mock to test.
 */

/** What S3Store does with a failed request. */
export const S3_ERROR_KINDS = [
  'abort', 'not-found', 'no-bucket', 'invalid-range', 'auth', 'transient', 'other',
] as const;
export type S3ErrorKind = (typeof S3_ERROR_KINDS)[number];

/** Name given to the error S3Store raises when a body ends before its Content-Length. */
export const INCOMPLETE_BODY = 'IncompleteBody';

const AUTH_NAMES = new Set([
  'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'Forbidden', 'InvalidToken',
  'ExpiredToken', 'TokenRefreshRequired', 'AllAccessDisabled', 'AccountProblem',
  'InvalidSecurity', 'CredentialsProviderError', 'InvalidClientTokenId', 'UnrecognizedClientException',
]);

// Errors the SDK corrects by itself (it shifts its clock and sets clockSkewCorrected), so a
// retry can succeed; without the correction flag they are real authentication failures.
const CLOCK_SKEW_NAMES = new Set([
  'RequestTimeTooSkewed', 'RequestExpired', 'RequestInTheFuture', 'SignatureDoesNotMatch',
  'InvalidSignatureException', 'AuthFailure',
]);

// Throttling and server-side transient codes: worth a retry after backoff.
const TRANSIENT_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled',
  'RequestThrottledException', 'RequestLimitExceeded', 'TooManyRequestsException',
  'BandwidthLimitExceeded', 'PriorRequestNotComplete', 'ServiceUnavailable', 'InternalError',
]);

const TIMEOUT_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', INCOMPLETE_BODY]);

const NETWORK_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN',
  'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET', 'ERR_HTTP2_STREAM_ERROR',
]);

interface SdkLikeError {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: unknown; clockSkewCorrected?: unknown };
}

/** The kind of a thrown value from one S3 request (see S3_ERROR_KINDS). */
export function classifyS3Error(err: unknown, depth = 0): S3ErrorKind {
  if (typeof err !== 'object' || err === null) return 'other';
  const e = err as SdkLikeError;
  const name = typeof e.name === 'string' ? e.name : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const status = typeof e.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : 0;

  if (name === 'AbortError') return 'abort';
  if (name === 'NoSuchBucket') return 'no-bucket';
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return 'not-found';
  if (name === 'InvalidRange' || status === 416) return 'invalid-range';
  if (CLOCK_SKEW_NAMES.has(name) && e.$metadata?.clockSkewCorrected === true) return 'transient';
  if (AUTH_NAMES.has(name) || CLOCK_SKEW_NAMES.has(name) || status === 401 || status === 403) return 'auth';
  if (TRANSIENT_NAMES.has(name) || status === 429 || status >= 500) return 'transient';
  if (TIMEOUT_NAMES.has(name) || NETWORK_CODES.has(code) || e.$retryable !== undefined) return 'transient';
  // The http stack sometimes wraps the socket error; look through a few causes.
  if (e.cause !== undefined && depth < 5) {
    const inner = classifyS3Error(e.cause, depth + 1);
    if (inner === 'transient') return inner;
  }
  return 'other';
}

/** HTTP status of an SDK error, for messages (undefined for network errors). */
export function httpStatusOf(err: unknown): number | undefined {
  const s = (err as SdkLikeError | null)?.$metadata?.httpStatusCode;
  return typeof s === 'number' ? s : undefined;
}
