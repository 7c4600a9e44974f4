/**
 * The object layer's public face: the ObjectStore contract (types.ts) and its backends and
 * decorators. Files of this folder import types.ts, never this barrel.
 */
export type { GetOptions, ListOptions, ObjectInfo, ObjectPage, ObjectStore, PutOptions } from './types.js';
export { ObjectNotFoundError, ObjectStoreError, StorageUnavailableError, StorageAuthError, BucketNotFoundError } from './errors.js';
export { openObjectStore, type OpenStoreOptions } from './open-store.js';
export { parseStorageUrl, type StorageUrl } from './storage-url.js';
export { listAll } from './list-all.js';
export type { ListAllOptions } from './list-all.js';
export { S3Store, type S3StoreOptions } from './s3-store.js';
export { FileStore } from './file-store.js';
export { PrefixedStore } from './prefixed-store.js';
export { MetricsStore } from './metrics-store.js';
export { RateLimitedStore, type RateLimits } from './rate-limited-store.js';
/** Test-only fault injection; exported so tests of upper layers can wrap a real store. */
export { FaultyStore, FAULTABLE_METHODS, type FaultableMethod } from './faulty-store.js';
