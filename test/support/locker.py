"""A process that takes file locks on command, for lock tests (test/support/locker.ts drives it).

One command per line on stdin, one answer line on stdout:
  open NAME PATH FLAGS              FLAGS: r, w or rw            -> ok | error CODE
  lock NAME KIND TYPE START LEN WAIT  KIND: posix, ofd or flock; TYPE: r, w or u; WAIT: 0 or 1
                                    -> ok | error CODE (EAGAIN, EINTR, ...)
  getlk NAME KIND TYPE START LEN    -> none | TYPE START LEN PID
  alarm SECONDS                     a SIGALRM after SECONDS (interrupts a wait) -> ok
  write NAME TEXT                   -> ok | error CODE
  close NAME                        -> ok
  pid                               -> the process id
"""
import errno
import fcntl
import os
import signal
import struct
import sys

FLOCK = 'hhqqi'  # struct flock on Linux x86_64/arm64: type, whence, start, len, pid (native alignment)
TYPES = {'r': fcntl.F_RDLCK, 'w': fcntl.F_WRLCK, 'u': fcntl.F_UNLCK}
NAMES = {fcntl.F_RDLCK: 'r', fcntl.F_WRLCK: 'w', fcntl.F_UNLCK: 'u'}


def on_alarm(*_):
    # Python retries a system call interrupted by a handler that returns (PEP 475); raising ends the wait with EINTR.
    raise InterruptedError(errno.EINTR, 'interrupted')


signal.signal(signal.SIGALRM, on_alarm)
fds = {}


def run(words):
    cmd = words[0]
    if cmd == 'open':
        flags = {'r': os.O_RDONLY, 'w': os.O_WRONLY, 'rw': os.O_RDWR}[words[3]]
        fds[words[1]] = os.open(words[2], flags | (os.O_CREAT if flags != os.O_RDONLY else 0), 0o644)
        return 'ok'
    if cmd == 'write':
        os.write(fds[words[1]], words[2].encode())
        return 'ok'
    if cmd == 'close':
        os.close(fds.pop(words[1]))
        return 'ok'
    if cmd == 'pid':
        return str(os.getpid())
    if cmd == 'alarm':
        signal.setitimer(signal.ITIMER_REAL, float(words[1]))
        return 'ok'
    fd = fds[words[1]]
    kind, type_, start, length = words[2], TYPES[words[3]], int(words[4]), int(words[5])
    if cmd == 'lock':
        wait = words[6] == '1'
        if kind == 'flock':
            op = {fcntl.F_RDLCK: fcntl.LOCK_SH, fcntl.F_WRLCK: fcntl.LOCK_EX, fcntl.F_UNLCK: fcntl.LOCK_UN}[type_]
            fcntl.flock(fd, op if wait else op | fcntl.LOCK_NB)
        else:
            command = (fcntl.F_OFD_SETLKW if wait else fcntl.F_OFD_SETLK) if kind == 'ofd' else (fcntl.F_SETLKW if wait else fcntl.F_SETLK)
            fcntl.fcntl(fd, command, struct.pack(FLOCK, type_, os.SEEK_SET, start, length, 0))
        return 'ok'
    if cmd == 'getlk':
        command = fcntl.F_OFD_GETLK if kind == 'ofd' else fcntl.F_GETLK
        got = struct.unpack(FLOCK, fcntl.fcntl(fd, command, struct.pack(FLOCK, type_, os.SEEK_SET, start, length, 0)))
        if got[0] == fcntl.F_UNLCK:
            return 'none'
        return '%s %d %d %d' % (NAMES[got[0]], got[2], got[3], got[4])
    return 'error EINVAL'


for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    try:
        answer = run(words)
    except OSError as e:
        # EDEADLK and EDEADLOCK are one number on Linux; Python names it by the second.
        answer = 'error ' + ('EDEADLK' if e.errno == errno.EDEADLK else errno.errorcode.get(e.errno, str(e.errno)))
    print(answer, flush=True)
