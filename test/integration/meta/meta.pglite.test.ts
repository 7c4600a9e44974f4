/**
 * The metadata conformance suite on embedded PGlite (a fresh data directory per volume).
 * OBJECTFS_META=postgres leaves this file without tests.
 */
import { META_KINDS } from '../../support/meta.js';
import { metaSuite } from './meta-suite.js';

if (META_KINDS.includes('pglite')) metaSuite('pglite');
