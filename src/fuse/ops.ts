/**
 * The fuse-native operation table: one small function per operation, each resolving paths,
 * calling the vfs and replying through the Replier. No POSIX logic lives here.
 */
import { constants } from 'node:fs';
import { FsError } from '../errors.js';
import type { Attr } from '../meta/index.js';
import type { Caller, Vfs } from '../vfs/index.js';
import { bytesToPath, HIDDEN_NAME, pathBytes, splitParent, type PathTable } from './paths.js';
import type { CountCallback, Replier, ValueCallback } from './reply.js';
import { fromUtime, toFuseStat, toFuseStatfs, type FuseStat, type UtimeArg } from './stat.js';

type Done = (code: number) => void;

/**
 * libfuse takes one off the link count of a file it hid, because it assumes the hidden name is
 * still a link; here hiding really unlinked it, so add that one back.
 */
function asHidden(attr: Attr): Attr {
  return { ...attr, nlink: attr.nlink + 1 };
}

/** The path of an operation on an open handle is null once the file's directory is removed. */
function openPath(path: string | null): string {
  if (path === null) throw FsError.of('EBADF', 'no handle and no path');
  return path;
}

export interface OpsContext {
  readonly vfs: Vfs;
  readonly paths: PathTable;
  readonly reply: Replier;
  readonly readOnly: boolean;
  /** The uid/gid of the process making the current request: call synchronously at handler entry. */
  readonly caller: () => Caller;
}

const S_IFMT = 0o170000;
const NODE_OF_MODE = new Map<number, 'file' | 'fifo' | 'socket' | 'blockdev' | 'chardev'>([
  [constants.S_IFREG, 'file'], [constants.S_IFIFO, 'fifo'], [constants.S_IFSOCK, 'socket'],
  [constants.S_IFBLK, 'blockdev'], [constants.S_IFCHR, 'chardev'],
]);
/** chown's "leave unchanged" ((uid_t)-1 as the binding passes it). */
const NO_ID = 0xffffffff;

export function buildOps(ctx: OpsContext): Record<string, unknown> {
  const { vfs, paths, reply } = ctx;
  const writable = () => { if (ctx.readOnly) throw FsError.EROFS('mounted read-only'); };
  /**
   * The name libfuse hid last. Its rename flow hides an open target, then renames onto it, back
   * to back; when both names are links of one file the rename must not happen at all.
   */
  let justHidden: { path: string; parent: number; name: Buffer; ino: number } | undefined;

  // Directories open here, by the path libfuse passes to readdir (the binding gives readdir no
  // handle): a directory renamed by another host after opendir still lists its entries, as an
  // open directory stream should, instead of failing ENOENT (which glibc shows as empty).
  const openDirs = new Map<string, { ino: number; opens: number }>();

  async function getattr(path: string): Promise<FuseStat> {
    const { ino, attr, hidden } = await paths.resolveAttr(path);
    const found = attr ?? await vfs.getattr(ino);
    return toFuseStat(hidden === true ? asHidden(found) : found);
  }

  return {
    init: (cb: Done) => cb(0),
    access: (path: string, _mode: number, cb: Done) => reply.done('access', cb, () => paths.resolve(path)),
    statfs: (_path: string, cb: ValueCallback<Record<string, number>>) => reply.value('statfs', cb, async () => toFuseStatfs(await vfs.statfs())),
    getattr: (path: string, cb: ValueCallback<FuseStat>) => reply.value('getattr', cb, () => getattr(path)),
    fgetattr: (path: string | null, fd: number, cb: ValueCallback<FuseStat>) => reply.value('fgetattr', cb, async () => {
      if (fd > 0) {
        // No path: libfuse could not name it, which only happens to hidden files (see paths.ts).
        const attr = await vfs.fgetattr(fd);
        return toFuseStat(path === null || paths.isHidden(path) ? asHidden(attr) : attr);
      }
      return getattr(openPath(path));
    }),
    opendir: (path: string, _flags: number, cb: ValueCallback<number>) => reply.value('opendir', cb, async () => {
      const ino = await paths.resolve(path);
      const open = openDirs.get(path);
      openDirs.set(path, { ino, opens: (open?.ino === ino ? open.opens : 0) + 1 });
      return 0;
    }),
    releasedir: (path: string | null, _fd: number, cb: Done) => {
      const open = path === null ? undefined : openDirs.get(path);
      if (open !== undefined && --open.opens <= 0) openDirs.delete(path as string);
      cb(0);
    },
    fsyncdir: (_path: string | null, _datasync: boolean, _fd: number, cb: Done) => cb(0),
    readdir: (path: string, cb: (code: number, names?: string[], stats?: FuseStat[]) => void) => {
      reply.value('readdir', (code, value?: { names: string[]; stats: FuseStat[] }) => cb(code, value?.names, value?.stats), async () => {
        const epoch = paths.epoch; // entries listed before a removal here are not remembered
        const opened = openDirs.get(path)?.ino;
        const ino = opened ?? await paths.resolve(path);
        // Entries are remembered under `path` only while the path still leads to this directory.
        const current = opened === undefined ? ino : await paths.resolve(path).catch(() => undefined);
        const names = ['.', '..'];
        const stats: FuseStat[] = [];
        const self = toFuseStat(await vfs.getattr(ino));
        stats.push(self, self);
        const base = path === '/' ? '' : path;
        for await (const e of vfs.readdir(ino)) {
          const name = bytesToPath(e.name);
          names.push(name);
          stats.push(toFuseStat(e.attr));
          if (current === ino) paths.remember(`${base}/${name}`, e.ino, epoch);
        }
        return { names, stats };
      });
    },
    open: (path: string, flags: number, cb: ValueCallback<number>) => reply.value('open', cb, async () => {
      if ((flags & 3) !== constants.O_RDONLY || (flags & constants.O_TRUNC) !== 0) writable();
      return vfs.open(await paths.resolve(path), flags);
    }),
    create: (path: string, mode: number, cb: ValueCallback<number>) => reply.value('create', cb, async () => {
      const who = ctx.caller(); // only valid before the first await
      writable();
      const { parent, name } = await paths.resolveParent(path);
      const { fh, attr } = await vfs.create(who, parent, name, mode & 0o7777, constants.O_RDWR);
      paths.remember(path, attr.ino);
      return fh;
    }),
    read: (_path: string | null, fd: number, buf: Buffer, len: number, pos: number, cb: CountCallback) => reply.count('read', cb, async () => {
      const data = await vfs.read(fd, pos, len);
      return data.copy(buf, 0, 0, Math.min(len, data.length));
    }),
    write: (_path: string | null, fd: number, buf: Buffer, len: number, pos: number, cb: CountCallback) => reply.count('write', cb, () => {
      // The binding's buffer stays valid until cb: the vfs copies it before its promise settles.
      return vfs.write(fd, pos, buf.subarray(0, len));
    }),
    flush: (_path: string | null, fd: number, cb: Done) => reply.done('flush', cb, () => vfs.flush(fd)),
    fsync: (_path: string | null, _datasync: boolean, fd: number, cb: Done) => reply.done('fsync', cb, () => vfs.fsync(fd)),
    release: (_path: string | null, fd: number, cb: Done) => reply.done('release', cb, () => vfs.release(fd)),
    truncate: (path: string, size: number, cb: Done) => reply.done('truncate', cb, async () => {
      writable();
      await vfs.setattr(await paths.resolve(path), { length: size });
    }),
    ftruncate: (path: string | null, fd: number, size: number, cb: Done) => reply.done('ftruncate', cb, async () => {
      writable();
      const ino = fd > 0 ? vfs.inodeOf(fd) : await paths.resolve(openPath(path));
      await vfs.setattr(ino, { length: size });
    }),
    utimens: (path: string, atime: UtimeArg, mtime: UtimeArg, cb: Done) => reply.done('utimens', cb, async () => {
      writable();
      const a = fromUtime(atime);
      const m = fromUtime(mtime);
      await vfs.setattr(await paths.resolve(path), { ...(a === undefined ? {} : { atime: a }), ...(m === undefined ? {} : { mtime: m }) });
    }),
    chmod: (path: string, mode: number, cb: Done) => reply.done('chmod', cb, async () => {
      writable();
      await vfs.setattr(await paths.resolve(path), { mode: mode & 0o7777 });
    }),
    chown: (path: string, uid: number, gid: number, cb: Done) => reply.done('chown', cb, async () => {
      writable();
      await vfs.setattr(await paths.resolve(path), {
        ...(uid === NO_ID || uid === -1 ? {} : { uid }),
        ...(gid === NO_ID || gid === -1 ? {} : { gid }),
      });
    }),
    readlink: (path: string, cb: ValueCallback<string>) => reply.value('readlink', cb, async () => bytesToPath(await vfs.readlink(await paths.resolve(path)))),
    mknod: (path: string, mode: number, dev: number, cb: Done) => reply.done('mknod', cb, async () => {
      const who = ctx.caller();
      writable();
      const type = NODE_OF_MODE.get(mode & S_IFMT);
      if (type === undefined) throw FsError.EINVAL(`mknod of mode ${mode.toString(8)}`);
      const { parent, name } = await paths.resolveParent(path);
      paths.created(path, await vfs.mknod(who, parent, name, type, mode & 0o7777, dev));
    }),
    mkdir: (path: string, mode: number, cb: Done) => reply.done('mkdir', cb, async () => {
      const who = ctx.caller();
      writable();
      const { parent, name } = await paths.resolveParent(path);
      paths.created(path, await vfs.mkdir(who, parent, name, mode & 0o7777));
    }),
    symlink: (target: string, path: string, cb: Done) => reply.done('symlink', cb, async () => {
      const who = ctx.caller();
      writable();
      const { parent, name } = await paths.resolveParent(path);
      paths.created(path, await vfs.symlink(who, parent, name, pathBytes(target)));
    }),
    link: (src: string, dest: string, cb: Done) => reply.done('link', cb, async () => {
      writable();
      const ino = await paths.resolve(src);
      const { parent, name } = await paths.resolveParent(dest);
      paths.created(dest, await vfs.link(ino, parent, name));
    }),
    unlink: (path: string, cb: Done) => reply.done('unlink', cb, async () => {
      // libfuse's last unlink of a hidden open file: the inode was unlinked when it was hidden
      // and is deleted at its last release, which has happened by now.
      if (paths.unhide(path) !== undefined) return;
      writable();
      const { parent, name } = await paths.resolveParent(path);
      paths.forget(path);
      await vfs.unlink(parent, name);
    }),
    rmdir: (path: string, cb: Done) => reply.done('rmdir', cb, async () => {
      writable();
      const { parent, name } = await paths.resolveParent(path);
      paths.forget(path);
      await vfs.rmdir(parent, name);
    }),
    rename: (src: string, dest: string, cb: Done) => reply.done('rename', cb, async () => {
      writable();
      const from = await paths.resolveParent(src);
      const to = splitParent(dest);
      if (HIDDEN_NAME.test(to.name) && to.parentPath === splitParent(src).parentPath) {
        // libfuse hiding a file that is unlinked while open, or that a rename is about to
        // replace (see paths.ts).
        const ino = await paths.resolve(src);
        paths.forget(src);
        await vfs.unlink(from.parent, from.name);
        paths.hide(dest, from.parent, ino);
        justHidden = { path: src, parent: from.parent, name: from.name, ino };
        return;
      }
      const hidden = justHidden;
      justHidden = undefined;
      const toParent = await paths.resolve(to.parentPath);
      if (hidden?.path === dest && await paths.resolve(src) === hidden.ino) {
        // A rename onto another name of the same file is a no-op (POSIX), but libfuse hid that
        // name first because it was open: give it back.
        paths.created(dest, await vfs.link(hidden.ino, hidden.parent, hidden.name));
        return;
      }
      paths.forget(src);
      paths.forget(dest);
      const result = await vfs.rename(from.parent, from.name, toParent, pathBytes(to.name));
      paths.remember(dest, result.ino);
    }),
    setxattr: (path: string, name: string, value: Buffer, _position: number, flags: number, cb: Done) => reply.done('setxattr', cb, async () => {
      writable();
      await vfs.setxattr(await paths.resolve(path), pathBytes(name), Buffer.from(value), flags);
    }),
    getxattr: (path: string, name: string, _position: number, cb: ValueCallback<Buffer>) => reply.value('getxattr', cb, async () => vfs.getxattr(await paths.resolve(path), pathBytes(name))),
    listxattr: (path: string, cb: ValueCallback<Buffer[]>) => reply.value('listxattr', cb, async () => vfs.listxattr(await paths.resolve(path))),
    removexattr: (path: string, name: string, cb: Done) => reply.done('removexattr', cb, async () => {
      writable();
      await vfs.removexattr(await paths.resolve(path), pathBytes(name));
    }),
  };
}
