#!/usr/bin/env python3
"""Filesystem operations driven over stdin/stdout, for the randomized mount-vs-local comparison.

Usage: e2e-fsops.py ROOT [--reference]. Reads one JSON request per line, e.g. {"op": "write", "path": "a/b",
"off": 5, "len": 3, "seed": 7}, and answers one JSON line: {"ok": <result>} or {"err": "ENOENT"}
(the errno name). Paths are relative to ROOT. The umask is 0 so modes are exactly the requested
ones on both sides. Written data is random.Random(seed).randbytes(len), so two helpers given the
same request write the same bytes. Contents are reported as a short sha256 plus the length, so a
multi-MiB file costs one line. Long-lived handles ("hopen" ... "hclose") are kept in a table by
the id the driver gives them, so both sides use the same ids; "sync": true after an hwrite or htruncate
also fsyncs the handle (what another host may rely on, close-to-open aside).
"""
import ctypes
import errno
import hashlib
import json
import os
import random
import stat
import sys

os.chdir(sys.argv[1])
os.umask(0)
HANDLES = {}
# --reference: the local directory the mount is compared with. Its filesystem may lack
# FALLOC_FL_ZERO_RANGE (tmpfs); the reference then writes the zeros itself, as the call would.
REFERENCE = '--reference' in sys.argv[2:]

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
LIBC.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
AT_FDCWD = -100
FALLOC_KEEP_SIZE, FALLOC_PUNCH_HOLE, FALLOC_ZERO_RANGE = 0x01, 0x02, 0x10
FALLOC_MODES = {'alloc': 0, 'keep': FALLOC_KEEP_SIZE, 'punch': FALLOC_PUNCH_HOLE | FALLOC_KEEP_SIZE,
                'zero': FALLOC_ZERO_RANGE, 'zero-keep': FALLOC_ZERO_RANGE | FALLOC_KEEP_SIZE}
RENAME_FLAGS = {'noreplace': 1, 'exchange': 2}

OPEN_FLAGS = {
    'rdonly': os.O_RDONLY, 'rdwr': os.O_RDWR, 'wronly': os.O_WRONLY,
    'append': os.O_WRONLY | os.O_APPEND, 'trunc': os.O_RDWR | os.O_TRUNC, 'creat': os.O_RDWR | os.O_CREAT,
    'excl': os.O_RDWR | os.O_CREAT | os.O_EXCL,
}


def payload(seed, n):
    return random.Random(seed).randbytes(n)


def digest(data):
    return hashlib.sha256(data).hexdigest()[:16]


def content(path):
    h = hashlib.sha256()
    n = 0
    with open(path, 'rb') as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
            n += len(b)
    return '%d:%s' % (n, h.hexdigest()[:16])


def describe(path, data=True):
    """What must match between the two sides for one entry (not times, not directory sizes)."""
    st = os.lstat(path)
    d = {'mode': '%o' % st.st_mode, 'nlink': st.st_nlink}
    if stat.S_ISREG(st.st_mode):
        d['size'] = st.st_size
        if data:
            d['data'] = content(path)
    elif stat.S_ISLNK(st.st_mode):
        d['target'] = os.readlink(path)
        return d
    d['xattrs'] = sorted('%s=%s' % (n, os.getxattr(path, n).hex()) for n in os.listxattr(path))
    return d


def state(path, data):
    try:
        return describe(path, data)
    except OSError as e:
        return errno.errorcode[e.errno]


def walk():
    """Every path under the root with its type letter, sorted (the driver's pool of names)."""
    out = []
    for top, dirs, files in os.walk('.'):
        for name in dirs + files:
            p = os.path.join(top, name)[2:]
            st = os.lstat(p)
            out.append([p, 'd' if stat.S_ISDIR(st.st_mode) else 'l' if stat.S_ISLNK(st.st_mode) else 'f'])
    out.sort()
    return out


def snapshot():
    return {p: describe(p) for p, _ in walk()}


def with_fd(path, flags, fn):
    fd = os.open(path, flags)
    try:
        return fn(fd)
    finally:
        os.close(fd)


def fstat_info(fd):
    st = os.fstat(fd)
    d = {'mode': '%o' % st.st_mode, 'nlink': st.st_nlink}
    if not stat.S_ISDIR(st.st_mode):
        d['size'] = st.st_size  # directory sizes are filesystem-specific
    return d


def libc_check(ret):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def fallocate(fd, mode, off, length):
    try:
        libc_check(LIBC.fallocate(fd, mode, off, length))
    except OSError as e:
        if not (REFERENCE and e.errno == errno.EOPNOTSUPP and mode & FALLOC_ZERO_RANGE):
            raise
        end = off + length
        if mode & FALLOC_KEEP_SIZE:
            end = min(end, os.fstat(fd).st_size)
        for at in range(off, end, 1 << 20):
            os.pwrite(fd, bytes(min(1 << 20, end - at)), at)


def copy_range(src, dst, length, off, off2):
    """copy_file_range(2) until `length` bytes or the source's end; the bytes copied."""
    done = 0
    while done < length:
        n = os.copy_file_range(src, dst, length - done, off + done, off2 + done)
        if n == 0:
            break
        done += n
    return done


def run(r):
    op = r['op']
    p = r.get('path')
    if op == 'fallocate':
        return with_fd(p, os.O_WRONLY, lambda fd: fallocate(fd, FALLOC_MODES[r['mode']], r['off'], r['len']))
    if op == 'copy':
        return with_fd(p, os.O_RDONLY, lambda src: with_fd(r['to'], os.O_WRONLY, lambda dst: copy_range(src, dst, r['len'], r['off'], r['off2'])))
    if op == 'rename2':
        return libc_check(LIBC.renameat2(AT_FDCWD, p.encode(), AT_FDCWD, r['to'].encode(), RENAME_FLAGS[r['flags']]))
    if op == 'create':
        os.close(os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, r['mode']))
        return None
    if op == 'write':
        return with_fd(p, os.O_WRONLY, lambda fd: os.pwrite(fd, payload(r['seed'], r['len']), r['off']))
    if op == 'append':
        return with_fd(p, os.O_WRONLY | os.O_APPEND, lambda fd: os.write(fd, payload(r['seed'], r['len'])))
    if op == 'truncate':
        return os.truncate(p, r['size'])
    if op == 'read':
        data = with_fd(p, os.O_RDONLY, lambda fd: os.pread(fd, r['len'], r['off']))
        return '%d:%s' % (len(data), digest(data))
    if op == 'rename':
        return os.rename(p, r['to'])
    if op == 'link':
        return os.link(p, r['to'])
    if op == 'symlink':
        return os.symlink(r['target'], p)
    if op == 'unlink':
        return os.unlink(p)
    if op == 'mkdir':
        return os.mkdir(p, r['mode'])
    if op == 'rmdir':
        return os.rmdir(p)
    if op == 'chmod':
        return os.chmod(p, r['mode'])
    if op == 'utime':
        os.utime(p, ns=(int(r['atime']), int(r['mtime'])))
        st = os.stat(p)
        return [str(st.st_atime_ns), str(st.st_mtime_ns)]  # strings: JSON numbers lose ns past 2^53
    if op == 'setxattr':
        return os.setxattr(p, r['name'], bytes.fromhex(r['value']), r['flags'])
    if op == 'getxattr':
        return os.getxattr(p, r['name']).hex()
    if op == 'listxattr':
        return sorted(os.listxattr(p))
    if op == 'removexattr':
        return os.removexattr(p, r['name'])
    if op == 'stat':
        return describe(p, False)
    if op == 'hopen':
        HANDLES[r['h']] = os.open(p, OPEN_FLAGS[r['flags']], 0o644)
        return None
    if op == 'hwrite':
        n = os.pwrite(HANDLES[r['h']], payload(r['seed'], r['len']), r['off'])
        if r.get('sync'):
            os.fsync(HANDLES[r['h']])
        return n
    if op == 'hread':
        data = os.pread(HANDLES[r['h']], r['len'], r['off'])
        return '%d:%s' % (len(data), digest(data))
    if op == 'htruncate':
        os.ftruncate(HANDLES[r['h']], r['size'])
        if r.get('sync'):
            os.fsync(HANDLES[r['h']])
        return None
    if op == 'hstat':
        return fstat_info(HANDLES[r['h']])
    if op == 'hclose':
        return os.close(HANDLES.pop(r['h']))
    if op == 'inode':
        return os.fstat(HANDLES[r['h']]).st_ino if 'h' in r else os.stat(p).st_ino
    if op == 'state':
        return {q: state(q, r['data']) for q in r['paths']}
    if op == 'walk':
        return walk()
    if op == 'snapshot':
        return snapshot()
    raise ValueError('unknown op %r' % op)


def main():
    for line in sys.stdin:
        req = json.loads(line)
        try:
            res = {'ok': run(req)}
        except OSError as e:
            res = {'err': errno.errorcode.get(e.errno, str(e.errno))}
        sys.stdout.write(json.dumps(res) + '\n')
        sys.stdout.flush()


main()
