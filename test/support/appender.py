"""Appends numbered lines to a file with O_APPEND for a while, for the append tests.

  appender.py PATH TAG SECONDS keep|reopen

keep: one open file, one write(2) per line; reopen: open, write one line, close, per line.
Line n is "TAG n " followed by n % 151 copies of a letter of TAG and a newline, so a reader can
tell a whole line from a torn one. Prints the number of lines written.
"""
import os
import sys
import time

path, tag, seconds, mode = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
fill = tag[-1]
deadline = time.monotonic() + seconds
n = 0
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644) if mode == 'keep' else None
while time.monotonic() < deadline:
    line = ('%s %d %s\n' % (tag, n, fill * (n % 151))).encode()
    if fd is None:
        f = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(f, line)
        os.close(f)
    else:
        if os.write(fd, line) != len(line):
            sys.exit('short write')
    n += 1
if fd is not None:
    os.close(fd)
print(n)
