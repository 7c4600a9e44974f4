/** The command line's door into this folder: constants and pure parsers, no I/O library (docs/internals.md, "Layers"). */
export { COMPRESSIONS, type Compression } from './compressions.js';
export { MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from './keys.js';
