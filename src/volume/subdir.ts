/**
 * Finding the directory a sub-directory mount serves (the `subdir` setting): looked up once,
 * name by name from the volume's root, when the volume is opened. From then on the mount
 * serves it by inode, so a rename of it (or of a directory above it) by another host changes
 * nothing for the mount.
 */
import { constants } from 'node:os';
import { FsError, type HasErrno } from '../errors.js';
import { ROOT_INO, type Attr, type MetaEngine } from '../meta/index.js';
import { normalizeSubdir, subdirNames } from '../config/subdir.js';

/** The sub-directory is missing, not a directory, or not a valid path (ENOENT, ENOTDIR, EINVAL). */
export class SubdirError extends Error implements HasErrno {
  override readonly name = 'SubdirError';
  constructor(readonly code: 'ENOENT' | 'ENOTDIR' | 'EINVAL', message: string) {
    super(message);
  }

  get errno(): number {
    return constants.errno[this.code];
  }
}

/**
 * The attributes of the directory `subdir` (`/a/b` or `a/b`) of the volume. Lookups go to the
 * metadata engine directly: no permission applies to the mount itself (inside it, the kernel
 * checks every access as usual).
 */
export async function resolveSubdir(meta: MetaEngine, subdir: string): Promise<Attr> {
  let path: string;
  try {
    path = normalizeSubdir(subdir);
  } catch (err) {
    throw new SubdirError('EINVAL', `sub-directory ${JSON.stringify(subdir)} ${(err as Error).message}`);
  }
  const where = `sub-directory ${path} of volume "${meta.volume.name}"`;
  let attr = await meta.getattr(ROOT_INO);
  let at = '';
  for (const name of subdirNames(path)) {
    try {
      attr = await meta.lookup(attr.ino, Buffer.from(name, 'utf8'));
    } catch (err) {
      if (err instanceof FsError && err.code === 'ENOENT') throw new SubdirError('ENOENT', `${where} does not exist (no ${JSON.stringify(name)} in ${at || '/'})`);
      throw err;
    }
    at += `/${name}`;
    if (attr.type !== 'directory') throw new SubdirError('ENOTDIR', `${where} is not a directory (${at} is a ${attr.type})`);
  }
  return attr;
}
