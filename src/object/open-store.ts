/**
 * Storage URL (storage-url.ts) → ObjectStore. The URL is what `objectfs format --storage`
 * records in the volume, so it holds no secrets: credentials come from the AWS chain (env,
 * profile, role) or from OpenStoreOptions, never from the URL, and a URL carrying them is refused.
 */
import type { ObjectStore } from './types.js';
import { parseStorageUrl, type StorageUrl } from './storage-url.js';
import { FileStore } from './file-store.js';
import { S3Store } from './s3-store.js';
import type { S3StoreOptions } from './s3-store.js';

/** Options of openObjectStore: the S3 knobs a URL does not carry, plus the environment to read. */
export interface OpenStoreOptions extends Omit<S3StoreOptions, 'bucket' | 'prefix' | 'endpoint' | 'region' | 'forcePathStyle'> {
  /**
   * Environment for AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION and AWS_DEFAULT_REGION
   * (default process.env). Credentials are still read by the AWS SDK from process.env.
   */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Opens the store a storage URL names. For s3, the endpoint comes from the URL, else
 * AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS; path-style addressing defaults to on
 * when an endpoint is set (S3-compatible servers rarely do virtual-host buckets).
 * No I/O happens yet: a wrong bucket or credentials surface on the first operation.
 *
 * @example
 * const store = await openObjectStore('file:///var/lib/objectfs/blocks');
 */
export async function openObjectStore(url: string | StorageUrl, options: OpenStoreOptions = {}): Promise<ObjectStore> {
  const parsed = typeof url === 'string' ? parseStorageUrl(url) : url;
  if (parsed.kind === 'file') return new FileStore(parsed.dir);
  const { env = process.env, ...s3Options } = options;
  const endpoint = parsed.endpoint ?? nonEmpty(env['AWS_ENDPOINT_URL_S3']) ?? nonEmpty(env['AWS_ENDPOINT_URL']);
  const region = parsed.region ?? nonEmpty(env['AWS_REGION']) ?? nonEmpty(env['AWS_DEFAULT_REGION']);
  return new S3Store({
    ...s3Options,
    bucket: parsed.bucket,
    prefix: parsed.prefix,
    forcePathStyle: parsed.pathStyle ?? endpoint !== undefined,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
  });
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}
