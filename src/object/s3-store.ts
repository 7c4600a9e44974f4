/**
 * ObjectStore over any S3-compatible endpoint, through AWS SDK v3 (GETs and PUTs through
 * s3-requests.ts, which takes only endpoint, credentials and signer from the SDK's client).
 * Everything a request throws is classified here (classify-s3-error.ts) into the typed errors
 * of errors.ts.
 *
 * Retries are ours, not the SDK's (maxAttempts: 1 on the client): one policy, visible in one
 * place, honouring the caller's AbortSignal between attempts and producing
 * StorageUnavailableError with the attempt count when it gives up.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { inspect } from 'node:util';
import {
  DeleteObjectCommand, HeadObjectCommand, ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { GetOptions, ListOptions, ObjectInfo, ObjectPage, ObjectStore, PutOptions } from './types.js';
import {
  BucketNotFoundError, ObjectNotFoundError, ObjectStoreError, StorageAuthError, StorageUnavailableError,
} from './errors.js';
import { classifyS3Error, httpStatusOf } from './classify-s3-error.js';
import { S3Requests, type S3RequestTimeouts } from './s3-requests.js';
import { credentialSource } from './credential-source.js';
import { checkRange } from './check-range.js';
import { withRetry, type RetryPolicy } from '../util/retry.js';

/** Options of S3Store. Credentials default to the standard AWS chain (env, profile, role). */
export interface S3StoreOptions {
  readonly bucket: string;
  /** Prepended verbatim to every key (give it a trailing '/' to get a "directory"). */
  readonly prefix?: string;
  /** e.g. `http://127.0.0.1:9000`; default: AWS for `region`. */
  readonly endpoint?: string;
  /** Default 'us-east-1'. */
  readonly region?: string;
  /** Address the bucket as `endpoint/bucket` instead of `bucket.endpoint` (MinIO, s3rver, Ceph). */
  readonly forcePathStyle?: boolean;
  /** Explicit credentials; both or neither. Kept in a #private field, never printed. */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly sessionToken?: string;
  /** Shared-config profile name (instead of AWS_PROFILE / "default"). */
  readonly profile?: string;
  /** TCP connect timeout per attempt, ms (default 5000). */
  readonly connectTimeoutMs?: number;
  /** Time from sending a request to its response headers, per attempt, ms (default 60000). */
  readonly requestTimeoutMs?: number;
  /** Socket inactivity timeout while a response body streams, ms (default 30000). */
  readonly idleTimeoutMs?: number;
  /** Attempts per operation including the first (default 6). */
  readonly maxAttempts?: number;
  /** First backoff ceiling, ms, doubling per retry (default 200). */
  readonly retryBaseDelayMs?: number;
  /** Largest backoff, ms (default 10000). */
  readonly retryMaxDelayMs?: number;
  /** Concurrent keep-alive sockets to the endpoint (default 64). */
  readonly maxSockets?: number;
}

/** Default region when neither the URL nor the options name one. */
export const DEFAULT_REGION = 'us-east-1';

interface Fallbacks<T> {
  readonly notFound?: () => T;
  readonly invalidRange?: () => T;
}

/** An ObjectStore on one bucket (and key prefix) of an S3-compatible service. */
export class S3Store implements ObjectStore {
  readonly #client: S3Client;
  /** GETs and PUTs, the data path, without the SDK's per-request stack (s3-requests.ts). */
  readonly #requests: S3Requests;
  readonly #agents: readonly [HttpAgent, HttpsAgent];
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #endpoint: string;
  readonly #credentialSource: string;
  readonly #retry: RetryPolicy;
  #closed = false;

  constructor(options: S3StoreOptions) {
    if (!options.bucket) throw new TypeError('S3Store: bucket is required');
    if ((options.accessKeyId === undefined) !== (options.secretAccessKey === undefined)) {
      throw new TypeError('S3Store: give both accessKeyId and secretAccessKey, or neither');
    }
    const region = options.region ?? DEFAULT_REGION;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? '';
    this.#endpoint = publicEndpoint(options.endpoint, region);
    this.#credentialSource = credentialSource(options);
    this.#retry = Object.freeze({
      maxAttempts: Math.max(1, options.maxAttempts ?? 6),
      baseDelayMs: options.retryBaseDelayMs ?? 200,
      maxDelayMs: options.retryMaxDelayMs ?? 10_000,
    });
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    this.#agents = [new HttpAgent(agentOptions), new HttpsAgent(agentOptions)];
    const timeouts: S3RequestTimeouts = {
      connectMs: options.connectTimeoutMs ?? 5_000,
      responseMs: options.requestTimeoutMs ?? 60_000,
      idleMs: options.idleTimeoutMs ?? 30_000,
    };
    const config: S3ClientConfig = {
      region,
      forcePathStyle: options.forcePathStyle ?? false,
      maxAttempts: 1,
      // aws-chunked uploads with trailing checksums are mis-stored or rejected by several
      // S3-compatible servers (s3rver, older MinIO/Ceph); send plain bodies unless required.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({
        httpAgent: this.#agents[0],
        httpsAgent: this.#agents[1],
        connectionTimeout: timeouts.connectMs,
        requestTimeout: timeouts.responseMs,
        throwOnRequestTimeout: true,
        socketTimeout: timeouts.idleMs,
      }),
    };
    if (options.endpoint !== undefined) config.endpoint = options.endpoint;
    if (options.profile !== undefined) config.profile = options.profile;
    if (options.accessKeyId !== undefined && options.secretAccessKey !== undefined) {
      config.credentials = {
        accessKeyId: options.accessKeyId,
        secretAccessKey: options.secretAccessKey,
        ...(options.sessionToken !== undefined ? { sessionToken: options.sessionToken } : {}),
      };
    }
    this.#client = new S3Client(config);
    this.#requests = new S3Requests(this.#client, this.#bucket, { http: this.#agents[0], https: this.#agents[1] }, timeouts, agentOptions.maxSockets);
  }

  describe(): string {
    return `s3://${this.#bucket}/${this.#prefix} (${this.#endpoint})`;
  }

  /** Only describe(): the client config holds credentials and must never be serialised. */
  toJSON(): string {
    return this.describe();
  }

  [inspect.custom](): string {
    return `S3Store(${this.describe()})`;
  }

  async get(key: string, options: GetOptions = {}): Promise<Buffer> {
    const { offset = 0, length, signal, onObjectSize } = options;
    checkRange(offset, length);
    if (length === 0) {
      // "bytes=N-(N-1)" is not a valid range and S3 would answer with the whole object.
      const info = await this.head(key, signal ? { signal } : {});
      if (info === undefined) throw new ObjectNotFoundError(key, this.describe());
      onObjectSize?.(info.size);
      return Buffer.alloc(0);
    }
    const range = offset > 0 || length !== undefined
      ? `bytes=${offset}-${length !== undefined ? offset + length - 1 : ''}`
      : undefined;
    return this.#send('get', key, signal, async () => {
      const { body, contentRange } = await this.#requests.get(this.#key(key), range, signal);
      const size = range === undefined ? body.length : objectSizeOf(contentRange);
      if (size !== undefined) onObjectSize?.(size);
      return body;
    }, { invalidRange: () => Buffer.alloc(0) }); // offset at or past the end: nothing to read
  }

  async put(key: string, data: Buffer, options: PutOptions = {}): Promise<void> {
    const { signal, storageClass, sha256 } = options;
    await this.#send('put', key, signal, () => this.#requests.put(this.#key(key), data, sha256, storageClass, signal));
  }

  async delete(key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    await this.#send('delete', key, options.signal, async () => {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
        { abortSignal: options.signal });
    }, { notFound: () => undefined });
  }

  async head(key: string, options: { signal?: AbortSignal } = {}): Promise<ObjectInfo | undefined> {
    // A HEAD 404 has no body, so a missing bucket also reads as "absent" here; get/put/list
    // report BucketNotFoundError.
    return this.#send('head', key, options.signal, async () => {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }),
        { abortSignal: options.signal });
      return { key, size: out.ContentLength ?? 0, mtime: out.LastModified?.getTime() ?? 0 };
    }, { notFound: () => undefined });
  }

  async list(options: ListOptions = {}): Promise<ObjectPage> {
    const { prefix = '', token, limit, signal } = options;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) throw new RangeError(`list limit must be a positive integer, got ${limit}`);
    return this.#send('list', prefix, signal, async () => {
      const out = await this.#client.send(new ListObjectsV2Command({
        Bucket: this.#bucket,
        Prefix: this.#prefix + prefix,
        // No limit: no max-keys, and the server's own page size (1000 on S3, radosgw, s3rver).
        ...(limit !== undefined ? { MaxKeys: Math.min(limit, 1000) } : {}),
        ...(token !== undefined ? { ContinuationToken: token } : {}),
      }), { abortSignal: signal });
      const objects = (out.Contents ?? []).map((o): ObjectInfo => ({
        key: (o.Key ?? '').slice(this.#prefix.length),
        size: o.Size ?? 0,
        mtime: o.LastModified?.getTime() ?? 0,
      }));
      return out.IsTruncated && out.NextContinuationToken ? { objects, next: out.NextContinuationToken } : { objects };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
    this.#requests.close();
    for (const agent of this.#agents) agent.destroy();
  }

  #key(key: string): string {
    if (key === '' || key.startsWith('/')) throw new TypeError(`invalid object key "${key}"`);
    return this.#prefix + key;
  }

  /** One operation with retries; every failure leaves here as a typed error of errors.ts. */
  async #send<T>(op: string, key: string, signal: AbortSignal | undefined, attempt: () => Promise<T>,
    fallbacks: Fallbacks<T> = {}): Promise<T> {
    if (this.#closed) throw new ObjectStoreError(`${op} "${key}": ${this.describe()} is closed`);
    try {
      return await withRetry(this.#retry, attempt,
        (err) => (classifyS3Error(err) === 'transient' ? 'retry' : 'fail'),
        (err, attempts) => new StorageUnavailableError(
          `S3 ${op} "${key}" on ${this.describe()} still failing after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${summary(err)}`,
          { cause: err, attempts }),
        signal);
    } catch (err) {
      if (err instanceof ObjectStoreError) throw err;
      switch (classifyS3Error(err)) {
        case 'abort': throw err;
        case 'not-found':
          if (fallbacks.notFound) return fallbacks.notFound();
          throw new ObjectNotFoundError(key, this.describe(), { cause: err });
        case 'invalid-range':
          if (fallbacks.invalidRange) return fallbacks.invalidRange();
          break;
        case 'no-bucket': throw new BucketNotFoundError(this.#bucket, this.#endpoint, { cause: err });
        case 'auth': throw this.#authError(op, err);
        default: break;
      }
      // Aborts from our own backoff sleep arrive as the signal's reason; keep them as they are.
      if (signal?.aborted && err === signal.reason) throw err;
      throw new ObjectStoreError(`S3 ${op} "${key}" on ${this.describe()} failed: ${summary(err)}`, { cause: err });
    }
  }

  #authError(op: string, err: unknown): StorageAuthError {
    const name = (err as { name?: string }).name ?? 'Error';
    const message = name === 'CredentialsProviderError'
      ? `S3 ${op} on ${this.#endpoint}: no credentials found in ${this.#credentialSource}. `
        + 'Set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or pass explicit credentials.'
      : `S3 ${op} on ${this.#endpoint}: access to bucket "${this.#bucket}" refused (${summary(err)}); `
        + `credentials came from ${this.#credentialSource}. Check that the key id and secret are right `
        + 'and allowed on this bucket.';
    return new StorageAuthError(message, this.#endpoint, { cause: err });
  }

}

/** The endpoint as shown in messages: userinfo stripped, AWS default spelled out. */
function publicEndpoint(endpoint: string | undefined, region: string): string {
  if (endpoint === undefined) return `https://s3.${region}.amazonaws.com`;
  try {
    const url = new URL(endpoint);
    url.username = '';
    url.password = '';
    return url.href.replace(/\/$/, '');
  } catch {
    throw new TypeError('S3Store: endpoint must be an absolute http(s) URL such as http://127.0.0.1:9000');
  }
}

/** `Name (HTTP 503): message` of an SDK or network error, for messages. */
function summary(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const status = httpStatusOf(err);
  const code = (err as { code?: unknown }).code;
  const label = typeof code === 'string' && code !== err.name ? `${err.name} ${code}` : err.name;
  return `${label}${status !== undefined ? ` (HTTP ${status})` : ''}: ${err.message}`;
}

/** The whole object's size from a Content-Range header ("bytes 8-4103/4194312"), if it says. */
function objectSizeOf(contentRange: string | undefined): number | undefined {
  const total = /\/(\d+)$/.exec(contentRange ?? '')?.[1];
  return total === undefined ? undefined : Number(total);
}
