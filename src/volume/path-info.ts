/**
 * `objectfs info`: what a path is made of. The inode's attributes and, for a file, each
 * chunk's slice list, the block objects of those slices and whether this host's disk cache
 * holds them. Read-only; knows the volume's layout (chunk → slices → blocks).
 */
import { existsSync } from 'node:fs';
import { blockFilePath } from '../cache/index.js';
import { CHUNK_SIZE, sliceBlockKeys } from '../chunk/index.js';
import { FsError } from '../errors.js';
import { ROOT_INO, type Attr, type MetaEngine, type SliceEntry } from '../meta/index.js';

export interface ChunkInfo {
  readonly index: number;
  readonly version: number;
  readonly slices: readonly SliceEntry[];
}

export interface ObjectInfoLine {
  readonly key: string;
  /** In this host's disk cache (undefined when the mount has no disk cache). */
  readonly cached: boolean | undefined;
}

export interface PathInfo {
  readonly path: string;
  readonly attr: Attr;
  readonly chunks: readonly ChunkInfo[];
  /** Block objects of the slices the chunks name (each once), volume-relative keys. */
  readonly objects: readonly ObjectInfoLine[];
  /** How many of those objects the disk cache holds. */
  readonly cachedObjects: number;
}

/**
 * Looks `inside` ('a/b/c', '' for the root) up from the mount's root (`root`: the volume's, or
 * a sub-directory mount's), component by component.
 */
export async function resolvePath(meta: MetaEngine, inside: string, root = ROOT_INO): Promise<Attr> {
  let attr = await meta.getattr(root);
  for (const name of inside.split('/').filter((s) => s !== '')) {
    if (attr.type !== 'directory') throw FsError.ENOTDIR(`${inside}: not a directory on the way`);
    attr = await meta.lookup(attr.ino, Buffer.from(name, 'utf8'));
  }
  return attr;
}

export async function pathInfo(meta: MetaEngine, inside: string, diskCacheDir: string | undefined, root = ROOT_INO): Promise<PathInfo> {
  const attr = await resolvePath(meta, inside, root);
  const chunks: ChunkInfo[] = [];
  const objects: ObjectInfoLine[] = [];
  let cachedObjects = 0;
  if (attr.type === 'file') {
    const seen = new Set<number>();
    for (let index = 0; index * CHUNK_SIZE < attr.length; index++) {
      const record = await meta.readChunk(attr.ino, index);
      chunks.push({ index, version: record.version, slices: record.slices });
      for (const s of record.slices) {
        if (s.id === 0 || seen.has(s.id)) continue;
        seen.add(s.id);
        for (const key of sliceBlockKeys(s.id, s.size, meta.volume.blockSize)) {
          const cached = diskCacheDir === undefined ? undefined : existsSync(blockFilePath(diskCacheDir, key));
          if (cached === true) cachedObjects++;
          objects.push({ key, cached });
        }
      }
    }
  }
  return { path: inside === '' ? '/' : `/${inside}`, attr, chunks, objects, cachedObjects };
}
