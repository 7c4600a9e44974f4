/** The command line's door into this folder: constants and pure parsers, no I/O library (docs/internals.md, "Layers"). */
export { DEFAULT_DESTROY_THREADS, DEFAULT_GC_WINDOW_MS } from './defaults.js';
export { describeSession } from './destroy-sessions.js';
