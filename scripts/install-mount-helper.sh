#!/usr/bin/env bash
# Makes `mount -t fuse.objectfs` and fstab entries work: links /sbin/mount.fuse.objectfs (what
# mount(8) runs for that type) and /usr/local/bin/objectfs to this checkout's bin/, which run the
# build on Node >= 22 (scripts/node-env.sh). Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
ln -sf "$root/bin/mount.objectfs" /sbin/mount.fuse.objectfs
ln -sf "$root/bin/mount.objectfs" /sbin/mount.objectfs
ln -sf "$root/bin/objectfs" /usr/local/bin/objectfs
echo "installed /sbin/mount.fuse.objectfs, /sbin/mount.objectfs and /usr/local/bin/objectfs"
