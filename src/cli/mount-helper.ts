#!/usr/bin/env node
/**
 * `mount.objectfs` (installed as /sbin/mount.fuse.objectfs): what mount(8) runs for
 * `mount -t fuse.objectfs META_URL MOUNTPOINT -o OPTIONS` and for fstab lines such as
 *   postgres://objectfs@db/objectfs  /mnt/shared  fuse.objectfs  _netdev,allow_other,cache-dir=/var/cache/objectfs  0 0
 * It starts `objectfs mount --background` with the options and returns once mounted.
 * mount(8) calls helpers as: mount.fuse.objectfs SOURCE MOUNTPOINT [-s] [-f] [-n] [-v] [-o OPTIONS]
 */
import { main } from './main.js';

export function helperArgs(argv: readonly string[]): string[] {
  const positional: string[] = [];
  const options: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '-o') {
      const next = argv[++i];
      if (next !== undefined) options.push(next);
    } else if (a.startsWith('-o')) {
      options.push(a.slice(2));
    } else if (!a.startsWith('-')) {
      positional.push(a);
    }
    // -s (sloppy), -f (fake), -n (no mtab), -v (verbose): nothing to do for a FUSE mount.
  }
  const [source, mountPoint] = positional;
  if (source === undefined || mountPoint === undefined) return ['mount', '--help'];
  return ['mount', source, mountPoint, '--background', ...(options.length > 0 ? ['-o', options.join(',')] : [])];
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('mount.objectfs') || process.argv[1]?.endsWith('mount.fuse.objectfs')) {
  process.exitCode = await main(helperArgs(process.argv.slice(2)));
}
