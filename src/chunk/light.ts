/**
 * What the command line needs of this folder before a command runs (constants and pure
 * parsers): this entry loads none of the I/O libraries the rest of the folder does, so that
 * `objectfs --help` and a refused command line start at once (test/unit/cli/lazy-load.test.ts).
 * The folder's index.ts re-exports all of it too.
 */
export { COMPRESSIONS, type Compression } from './compressions.js';
export { MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from './keys.js';
