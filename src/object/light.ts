/**
 * What the command line needs of this folder before a command runs (constants and pure
 * parsers): this entry loads none of the I/O libraries the rest of the folder does, so that
 * `objectfs --help` and a refused command line start at once (test/unit/cli/lazy-load.test.ts).
 * The folder's index.ts re-exports all of it too.
 */
export { parseStorageUrl, type StorageUrl } from './storage-url.js';
