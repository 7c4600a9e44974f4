#!/usr/bin/env bash
# The newcomer's first run: installs what is needed, formats a volume on the embedded default
# (PGlite metadata, local-directory storage) under $OBJECTFS_DEMO_DIR (default
# /var/tmp/objectfs-demo), mounts it at $OBJECTFS_DEMO_DIR/mnt as a daemon, and shows ordinary
# tools working on it. Safe to run again: the volume and a running mount are reused.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
objectfs=("$(pwd)/bin/objectfs")
dir="${OBJECTFS_DEMO_DIR:-/var/tmp/objectfs-demo}"
meta="pglite://${dir}/meta"
mnt="${dir}/mnt"
mkdir -p "$dir"
if ! grep -q " ${mnt} fuse.objectfs " /proc/mounts; then
  if [ ! -e "${dir}/meta/PG_VERSION" ]; then
    "${objectfs[@]}" format "$meta" demo --storage "file://${dir}/data"
  fi
  "${objectfs[@]}" mount "$meta" "$mnt" --background --log "${dir}/objectfs.log" --cache-dir "${dir}/cache"
fi
run="${mnt}/run-$(date +%Y%m%d-%H%M%S)"
echo "--- writing to ${run}"
mkdir -p "$run"
echo "hello from ObjectFS" > "${run}/hello.txt"
head -c 20M /dev/urandom > "${run}/random.bin"
cp -a /usr/share/common-licenses "${run}/licenses" 2>/dev/null || cp -a /etc/skel "${run}/licenses"
ln -s hello.txt "${run}/link"
sha256sum "${run}/random.bin"
ls -la "$run"
cat "${run}/link"
du -sh "$run"
echo "--- the volume"
# The embedded database is held by the mount daemon, so status reads it through the mount's view.
df -h "$mnt"
echo "--- mounted at ${mnt}; unmount with: bin/objectfs umount ${mnt}"
