#!/usr/bin/env bash
# The newcomer's first run: installs what is needed, then formats a volume on the embedded
# default (PGlite metadata, local-directory storage) under $OBJECTFS_DEMO_DIR (default
# /var/tmp/objectfs-demo), runs a short in-process demo through the library and shows the
# volume's status. Safe to run again: an existing demo volume is reused.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
dir="${OBJECTFS_DEMO_DIR:-/var/tmp/objectfs-demo}"
meta="pglite://${dir}/meta"
storage="file://${dir}/data"
mkdir -p "$dir"
if ! node dist/src/cli/bin.js status "$meta" >/dev/null 2>&1; then
  node dist/src/cli/bin.js format "$meta" demo --storage "$storage"
fi
node dist/scripts/demo.js "$meta"
node dist/src/cli/bin.js status "$meta"
