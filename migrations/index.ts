/** Every migration in order. Names sort in application order; never rename or edit a shipped one. */
import type { Migration } from 'kysely';
import * as initial from './0001-initial.js';
import * as storageClass from './0002-storage-class.js';
import * as usageJournal from './0003-usage-journal.js';
import * as fileLocks from './0004-file-locks.js';
import * as destroying from './0005-destroying.js';
import * as jobs from './0006-jobs.js';
import * as trashNames from './0007-trash-names.js';
import * as quotas from './0008-quotas.js';
import * as stagedSlices from './0009-staged-slices.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-initial': initial,
  '0002-storage-class': storageClass,
  '0003-usage-journal': usageJournal,
  '0004-file-locks': fileLocks,
  '0005-destroying': destroying,
  '0006-jobs': jobs,
  '0007-trash-names': trashNames,
  '0008-quotas': quotas,
  '0009-staged-slices': stagedSlices,
});
