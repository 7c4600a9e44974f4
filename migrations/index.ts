/** Every migration in order. Names sort in application order; never rename or edit a shipped one. */
import type { Migration } from 'kysely';
import * as initial from './0001-initial.js';

export const MIGRATIONS: Readonly<Record<string, Migration>> = Object.freeze({
  '0001-initial': initial,
});
