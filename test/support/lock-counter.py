"""Increments shared counters under locks, for the lock tests (many of these run at once).

  lock-counter.py MODE DIR ROUNDS SLOT

flock:     DIR/counter holds a decimal number; each round takes flock(LOCK_EX) on DIR/counter.lock,
           reads the number, rewrites the file with the number plus one (open O_TRUNC, write,
           close), and unlocks.
disjoint:  DIR/ranges holds two 16-byte decimal counters; SLOT picks one (SLOT % 2), and each
           round locks just its 16 bytes (F_SETLKW), reads, writes it back plus one, unlocks.
overlap:   the counter at bytes 8..24 of DIR/ranges, each round locking [0, 24) or [8, 32)
           (by SLOT % 2): different ranges that overlap where the counter is.
sqlite:    DIR/db.sqlite (journal_mode=DELETE, busy_timeout 60 s), each round one
           BEGIN IMMEDIATE; UPDATE counter SET n = n + 1; COMMIT.
Exits 0 after ROUNDS rounds; any error is fatal.
"""
import fcntl
import os
import sqlite3
import struct
import sys

mode, d, rounds, slot = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def flock_rounds():
    lock = os.open(os.path.join(d, 'counter.lock'), os.O_RDWR | os.O_CREAT, 0o644)
    path = os.path.join(d, 'counter')
    for _ in range(rounds):
        fcntl.flock(lock, fcntl.LOCK_EX)
        with open(path, 'rb') as f:
            data = f.read()
        if b'\0' in data or not data.strip().isdigit():
            sys.exit('counter holds %r' % data)
        with open(path, 'wb') as f:
            f.write(b'%d\n' % (int(data) + 1))
        fcntl.flock(lock, fcntl.LOCK_UN)
    os.close(lock)


def range_rounds(at, lo, hi):
    fd = os.open(os.path.join(d, 'ranges'), os.O_RDWR)
    for _ in range(rounds):
        fcntl.fcntl(fd, fcntl.F_SETLKW, struct.pack('hhqqi', fcntl.F_WRLCK, os.SEEK_SET, lo, hi - lo, 0))
        data = os.pread(fd, 16, at)
        if len(data) != 16 or not data.isdigit():
            sys.exit('counter at %d holds %r' % (at, data))
        os.pwrite(fd, b'%016d' % (int(data) + 1), at)
        fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack('hhqqi', fcntl.F_UNLCK, os.SEEK_SET, lo, hi - lo, 0))
    os.close(fd)


def sqlite_rounds():
    db = sqlite3.connect(os.path.join(d, 'db.sqlite'), timeout=60, isolation_level=None)
    db.execute('PRAGMA journal_mode=DELETE')
    for _ in range(rounds):
        db.execute('BEGIN IMMEDIATE')
        db.execute('UPDATE counter SET n = n + 1')
        db.execute('COMMIT')
    db.close()


if mode == 'flock':
    flock_rounds()
elif mode == 'disjoint':
    at = 16 * (slot % 2)
    range_rounds(at, at, at + 16)
elif mode == 'overlap':
    range_rounds(8, *((0, 24) if slot % 2 == 0 else (8, 32)))
elif mode == 'sqlite':
    sqlite_rounds()
else:
    sys.exit('unknown mode ' + mode)
