/** The command line's door into this folder: constants and pure parsers, no I/O library (docs/internals.md, "Layers"). */
export { parseStorageUrl, type StorageUrl } from './storage-url.js';
