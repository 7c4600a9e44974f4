# Builds, in the current directory, a tree with every kind of metadata a dump must carry:
# nested directories, files of several sizes (random content, one over several blocks), an
# empty file, a sparse file, hard links, symlinks (relative, absolute, dangling), xattrs on a
# file and a directory, a fifo, odd owners, modes and times.
set -e
mkdir -p tree/a/b/c tree/empty-dir 'tree/name with spaces'
head -c 3000000 /dev/urandom > tree/a/big.bin
head -c 4097 /dev/urandom > tree/a/b/small.bin
printf 'hello\n' > tree/a/b/c/hello.txt
: > tree/empty.txt
truncate -s 20M tree/sparse.bin
printf 'middle' | dd of=tree/sparse.bin bs=1 seek=10485760 conv=notrunc status=none
printf 'tail' | dd of=tree/sparse.bin bs=1 seek=20971000 conv=notrunc status=none
ln tree/a/b/small.bin tree/hard-1
ln tree/a/b/small.bin 'tree/name with spaces/hard-2'
ln -s a/b/c/hello.txt tree/rel-link
ln -s /etc/hostname tree/abs-link
ln -s does/not/exist tree/dangling
python3 -c "import os; os.setxattr('tree/a/big.bin', 'user.color', b'blue'); os.setxattr('tree/a/b/small.bin', 'user.bin', bytes([0, 255, 16])); os.setxattr('tree/a', 'user.dir', b'yes')"
mkfifo tree/a/fifo
chown 1234:5678 tree/a/b/c/hello.txt
chmod 4751 tree/a/b/c/hello.txt
chmod 1777 tree/empty-dir
touch -h -d '2001-02-03 04:05:06.123456789' tree/rel-link
touch -d '1999-12-31 23:59:59.987654321' tree/a/b/small.bin
