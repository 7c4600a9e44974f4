/**
 * The `subdir` setting: a directory of the volume that a mount serves as its root. Written
 * `/a/b` or `a/b` (always from the volume's root, never from the caller's directory) and
 * normalized to `/a/b`; `/` is the whole volume. Pure: validation only, the lookup of the
 * directory happens when the volume is opened (src/volume/subdir.ts).
 */

/** Longest name of one path component, as the metadata engine allows (bytes). */
const MAX_NAME_BYTES = 255;

/**
 * `raw` normalized (`//a/./b/` → `/a/b`), or an Error saying why it is not a sub-directory path.
 * `..` is refused, not resolved: a setting that climbs is a mistake whichever way it is read,
 * and refusing it keeps the promise simple (a mount never serves anything above its subdir).
 */
export function normalizeSubdir(raw: string): string {
  if (raw === '') throw new Error('is empty (give a directory of the volume such as /projects/a, or / for the whole volume)');
  if (raw.includes('\0')) throw new Error('contains a NUL byte');
  const names = raw.split('/').filter((s) => s !== '' && s !== '.');
  if (names.includes('..')) throw new Error('contains ".." (give the path from the volume\'s root, without "..")');
  const long = names.find((s) => Buffer.byteLength(s, 'utf8') > MAX_NAME_BYTES);
  if (long !== undefined) throw new Error(`has a name longer than ${MAX_NAME_BYTES} bytes`);
  return `/${names.join('/')}`;
}

/** The names of a normalized sub-directory path, from the root down (`/` has none). */
export function subdirNames(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}
