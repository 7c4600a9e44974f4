/** The command line's door into this folder: constants and pure parsers, no I/O library (docs/internals.md, "Layers"). */
export { parseHourName } from './trash-hours.js';
export { ROOT_INO } from './types.js';
