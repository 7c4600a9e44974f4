/**
 * Walks a directory tree yielding object keys in ascending UTF-8 byte order, the order S3
 * lists in, one directory at a time: memory is bounded by the entries of the directories on
 * the current path, not by the size of the tree, and a caller that stops after a page stops
 * the walk.
 *
 * Order: the keys under directory "a" all start with "a/", so inside a directory a
 * subdirectory sorts as its name plus '/' and a file as its bare name ("a" < "a.c" < "a/x",
 * because '.' is 0x2E and '/' is 0x2F). Sorting siblings that way makes the depth-first walk
 * emit globally sorted keys.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Suffix of in-flight (or crashed) FileStore writes: `<name>.tmp-<12 hex>`; never a key. */
export const TEMP_SUFFIX_RE = /\.tmp-[0-9a-f]{12}$/;

/** Options of walkKeys. */
export interface WalkOptions {
  /** Only keys starting with this. */
  readonly prefix?: string;
  /** Only keys strictly greater (in byte order) than this. */
  readonly after?: string | undefined;
}

interface Entry {
  readonly key: string;
  readonly sortKey: Buffer;
  readonly dir: boolean;
}

/** Keys of regular files under `root` (temp files skipped), ascending, filtered by prefix and `after`. */
export async function* walkKeys(root: string, options: WalkOptions = {}): AsyncGenerator<string, void, undefined> {
  const prefix = options.prefix ?? '';
  // Keys matching the prefix all live under its directory part; start there, unless that part
  // could not be a key path at all (which also keeps "../" prefixes from leaving the root).
  const start = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  if (start !== '' && start.slice(0, -1).split('/').some((s) => s === '' || s === '.' || s === '..')) return;
  yield* walkDir(root, start, prefix, options.after);
}

async function* walkDir(root: string, dirKey: string, prefix: string, after: string | undefined): AsyncGenerator<string, void, undefined> {
  let names;
  try {
    names = await readdir(join(root, dirKey), { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return; // removed meanwhile, or never created
    throw err;
  }
  const entries: Entry[] = [];
  for (const d of names) {
    if (d.isDirectory()) entries.push(entry(dirKey + d.name + '/', true));
    else if (d.isFile() && !TEMP_SUFFIX_RE.test(d.name)) entries.push(entry(dirKey + d.name, false));
  }
  names = undefined; // let the Dirent array go before descending
  entries.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
  for (const e of entries) {
    if (e.dir) {
      if (!e.key.startsWith(prefix) && !prefix.startsWith(e.key)) continue;
      // Every key below e.key starts with it: all are <= after unless after lies inside.
      if (after !== undefined && compareKeys(e.key, after) < 0 && !after.startsWith(e.key)) continue;
      yield* walkDir(root, e.key, prefix, after);
    } else {
      if (!e.key.startsWith(prefix)) continue;
      if (after !== undefined && compareKeys(e.key, after) <= 0) continue;
      yield e.key;
    }
  }
}

function entry(key: string, dir: boolean): Entry {
  return { key, dir, sortKey: Buffer.from(key) };
}

/** Byte-order comparison of two keys (UTF-8), the order S3 lists in; JS `<` compares UTF-16 units. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
