/**
 * The source tree of the tools tests, built in a local directory with ordinary tools: nested
 * directories, files of the awkward sizes (0, 1, 4095, 4096, 1 MiB + 3, 5 MiB, random bytes),
 * modes 0600/0755/0444 (and a 0700 directory), a relative symlink, a hard-link pair, a name with a
 * space, and mtimes with nanoseconds set by `touch -d` (directories last, so their times stick).
 */
import { bash } from './e2e-sh.js';

/** Paths (relative to the tree) and the mtime each gets; directories are listed after their contents. */
export const TREE_TIMES: readonly (readonly [string, string])[] = [
  ['d1/zero', '2019-01-02 03:04:05.000000001'],
  ['d1/one', '2019-06-07 08:09:10.123456789'],
  ['d1/d2/f4095', '2020-02-29 23:59:59.999999999'],
  ['d1/d2/f4096', '2001-09-09 01:46:40.5'],
  ['d1/d2/d3/m1', '2022-12-31 12:00:00.314159265'],
  ['big5', '2023-03-03 03:03:03.030303030'],
  ['sp ace/a file', '2018-08-08 08:08:08.080808080'],
  ['private/secret', '2017-07-07 07:07:07.7'],
  ['link', '2016-06-06 06:06:06.606060606'],
  ['d1/d2/d3', '2015-05-05 05:05:05.505050505'],
  ['d1/d2', '2014-04-04 04:04:04.404040404'],
  ['d1', '2013-03-03 03:03:03.303030303'],
  ['sp ace', '2012-02-02 02:02:02.202020202'],
  ['private', '2011-01-01 01:01:01.101010101'],
  ['empty-dir', '2010-10-10 10:10:10.010101010'],
];

/** Sum of the regular files' sizes, each inode counted once (what `du -sb` adds up besides directories and the symlink). */
export const TREE_FILE_BYTES = 0 + 1 + 4095 + 4096 + (1048576 + 3) + 5 * 1048576 + 7 + 6;

/** Builds the tree in `dir` (which must exist and be empty). */
export async function buildTree(dir: string): Promise<void> {
  const touches = TREE_TIMES.map(([p, t]) => `touch -h -d '${t}' '${p}'`).join('\n');
  await bash(`
    mkdir -p d1/d2/d3 'sp ace' private empty-dir
    : > d1/zero
    printf x > d1/one
    head -c 4095 /dev/urandom > d1/d2/f4095
    head -c 4096 /dev/urandom > d1/d2/f4096
    head -c $((1048576 + 3)) /dev/urandom > d1/d2/d3/m1
    head -c $((5 * 1048576)) /dev/urandom > big5
    printf 'spaces\\n' > 'sp ace/a file'
    printf 'secret' > private/secret
    ln d1/d2/d3/m1 d1/hardlink-to-m1
    ln -s d1/d2/f4096 link
    chmod 0600 d1/one big5 private/secret
    chmod 0755 d1/d2/f4095 d1 d1/d2 d1/d2/d3 'sp ace' empty-dir
    chmod 0444 d1/d2/f4096 'sp ace/a file'
    chmod 0644 d1/zero d1/d2/d3/m1
    chmod 0700 private
    ${touches}
  `, dir);
}
