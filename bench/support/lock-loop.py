"""Times uncontended lock+unlock pairs on one file, for bench/lock-bench.ts.

  lock-loop.py PATH flock|fcntl N

Prints one line per pair: microseconds from the lock call to the return of the unlock.
"""
import fcntl
import os
import struct
import sys
import time

path, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
whole = lambda t: struct.pack('hhqqi', t, os.SEEK_SET, 0, 0, 0)
out = []
for _ in range(n):
    t0 = time.perf_counter_ns()
    if kind == 'flock':
        fcntl.flock(fd, fcntl.LOCK_EX)
        fcntl.flock(fd, fcntl.LOCK_UN)
    else:
        fcntl.fcntl(fd, fcntl.F_SETLK, whole(fcntl.F_WRLCK))
        fcntl.fcntl(fd, fcntl.F_SETLK, whole(fcntl.F_UNLCK))
    out.append((time.perf_counter_ns() - t0) / 1000)
os.close(fd)
print('\n'.join('%.1f' % us for us in out))
