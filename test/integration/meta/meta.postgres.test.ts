/**
 * The metadata conformance suite on a real PostgreSQL server (OBJECTFS_TEST_PG_URL).
 * OBJECTFS_META=pglite leaves this file without tests.
 */
import { META_KINDS } from '../../support/meta.js';
import { metaSuite } from './meta-suite.js';

if (META_KINDS.includes('postgres')) metaSuite('postgres');
