/**
 * Fresh metadata volumes for integration tests, on both engines: a real PostgreSQL server
 * (OBJECTFS_TEST_PG_URL, started by the test runner) and embedded PGlite.
 *
 * Each call formats a brand-new database, so tests never see each other's inodes.
 */
import { formatMeta, openMeta } from '../../src/meta/index.js';
import type { FormatSettings, MetaEngine } from '../../src/meta/index.js';
import { freshPgDatabase, freshPgliteUrl } from './pg.js';

/** The engines every metadata conformance test runs on. */
export const ALL_META_KINDS = ['postgres', 'pglite'] as const;
export type MetaKind = (typeof ALL_META_KINDS)[number];

function kindsFromEnv(): readonly MetaKind[] {
  const wanted = process.env['OBJECTFS_META']?.trim();
  if (wanted === undefined || wanted === '') return ALL_META_KINDS;
  const kind = ALL_META_KINDS.find((k) => k === wanted);
  if (kind === undefined) {
    throw new Error(`OBJECTFS_META=${wanted} is not one of ${ALL_META_KINDS.join(', ')}`);
  }
  return [kind];
}

/** The kinds to run, narrowed by env OBJECTFS_META=postgres|pglite (default: both). */
export const META_KINDS: readonly MetaKind[] = Object.freeze(kindsFromEnv());

/** Format settings of every test volume (data never reaches the storage URL in meta tests). */
export function testFormatSettings(name: string): FormatSettings {
  return {
    name,
    storage: 'file:///tmp/unused',
    blockSize: 4 << 20,
    compression: 'lz4',
    trashDays: 0,
  };
}

/** A freshly formatted volume and the engines opened on it. */
export interface FreshMeta {
  readonly kind: MetaKind;
  readonly url: string;
  /** The first engine, opened right after format. */
  readonly engine: MetaEngine;
  /** Opens another independent engine on the same database, like a second host. */
  open(): Promise<MetaEngine>;
  /** Closes one engine opened here now (cleanup() will not close it again). */
  close(engine: MetaEngine): Promise<void>;
  /** Closes every engine opened here (first error rethrown) and drops the database. */
  cleanup(): Promise<void>;
}

function volumeName(label: string): string {
  const clean = label.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  return `t-${clean.slice(0, 40) || 'meta'}`;
}

/** Formats a fresh database of `kind` and opens one engine on it. */
export async function freshMeta(kind: MetaKind, label: string, settings: Partial<FormatSettings> = {}): Promise<FreshMeta> {
  let url: string;
  let drop: () => Promise<void>;
  if (kind === 'postgres') {
    const db = await freshPgDatabase(label);
    url = db.url;
    drop = () => db.drop();
  } else {
    const dir = await freshPgliteUrl(label);
    url = dir.url;
    drop = () => dir.cleanup();
  }
  const engines: MetaEngine[] = [];
  try {
    await formatMeta(url, { ...testFormatSettings(volumeName(label)), ...settings });
    engines.push(await openMeta(url));
  } catch (err) {
    await drop();
    throw err;
  }
  const engine = engines[0]!;
  let cleaned = false;
  return {
    kind,
    url,
    engine,
    async open() {
      if (cleaned) throw new Error(`volume ${label} was already cleaned up`);
      const e = await openMeta(url);
      engines.push(e);
      return e;
    },
    async close(e: MetaEngine) {
      const i = engines.indexOf(e);
      if (i < 0) throw new Error('close(): not an engine of this volume, or already closed');
      engines.splice(i, 1);
      await e.close();
    },
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      const errors: unknown[] = [];
      // Close in reverse order of opening; keep going so the database is always dropped.
      for (const e of engines.reverse()) {
        try {
          await e.close();
        } catch (err) {
          errors.push(err);
        }
      }
      await drop();
      if (errors.length > 0) throw errors[0];
    },
  };
}
