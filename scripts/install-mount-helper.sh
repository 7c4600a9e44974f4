#!/usr/bin/env bash
# Makes `mount -t fuse.objectfs` and fstab entries work: links /sbin/mount.fuse.objectfs (what
# mount(8) runs for that type) and /usr/local/bin/objectfs to this checkout's build. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
chmod +x "$root/dist/src/cli/bin.js" "$root/dist/src/cli/mount-helper.js"
ln -sf "$root/dist/src/cli/mount-helper.js" /sbin/mount.fuse.objectfs
ln -sf "$root/dist/src/cli/mount-helper.js" /sbin/mount.objectfs
ln -sf "$root/dist/src/cli/bin.js" /usr/local/bin/objectfs
echo "installed /sbin/mount.fuse.objectfs, /sbin/mount.objectfs and /usr/local/bin/objectfs"
