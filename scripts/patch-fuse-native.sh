#!/usr/bin/env bash
# Patches node_modules/fuse-native (2.2.6) with patches/fuse-native+2.2.6.patch and rebuilds its
# native addon from source against the system libfuse 2 (Debian's libfuse-dev) and the local node
# headers, offline. Run by npm as the "postinstall" script (npm ci / npm install), or by hand:
#
#   bash scripts/patch-fuse-native.sh [--force]     # --force: rebuild even if up to date
#
# Idempotent: a tree carrying the patch's marker is not patched again, and the addon is only rebuilt
# when build/Release/fuse.node is missing or older than the patched sources. The patched index.js
# loads build/Release/fuse.node only (never the package's stale prebuilds/) and refuses a binary
# without the patch's marker export. What the patch changes: see the header of the patch file.
#
# To change the patch: edit node_modules/fuse-native, then from a scratch dir holding the pristine
# package (`npm pack fuse-native@2.2.6`) as a/node_modules/fuse-native and the edited one as
# b/node_modules/fuse-native, run `git diff --no-index --src-prefix= --dst-prefix= a b`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PKG=node_modules/fuse-native
PATCH=patches/fuse-native+2.2.6.patch
MARKER=objectfs-patch
# Bump with every change to the patch: each patched file carries "$MARKER $PATCH_VERSION" and the
# binary exports objectfs_patch = $PATCH_VERSION (Fuse.OBJECTFS_PATCH), so a tree or a build made
# from an older version of the patch is detected instead of being taken as up to date.
PATCH_VERSION=3
PATCHED_FILES=(binding.gyp fuse-native.c index.js)
SETUP_HINT='run `bash scripts/setup.sh` (installs libfuse2, libfuse-dev, build-essential, python3)'

say() { printf 'patch-fuse-native: %s\n' "$*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

force=0
[[ ${1:-} == --force ]] && force=1

[[ -d $PKG ]] || die "$PKG is not installed (run npm ci)"
version=$(node -p "require('./$PKG/package.json').version")
[[ $version == 2.2.6 ]] || die "$PKG is version $version; $PATCH is for 2.2.6 only"
[[ $(uname -s) == Linux ]] || die "only Linux (libfuse 2) is supported"

# --- prerequisites (checked before touching anything) -------------------------------------------
fuse_h=/usr/include/fuse/fuse.h
if [[ ! -f $fuse_h ]] || ! grep -q flag_utime_omit_ok "$fuse_h"; then
  die "libfuse 2 headers ($fuse_h) not found: libfuse-dev is missing; $SETUP_HINT"
fi
if ! compgen -G '/usr/lib/*/libfuse.so' >/dev/null && [[ ! -e /usr/lib/libfuse.so ]]; then
  die "libfuse.so (the link library) not found: libfuse-dev is missing; $SETUP_HINT"
fi
for tool in make cc python3; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (needed by node-gyp); $SETUP_HINT"
done

# node headers: the ones of the running node, so node-gyp never downloads anything.
nodedir=${npm_config_nodedir:-}
if [[ -z $nodedir || ! -f $nodedir/include/node/common.gypi ]]; then
  nodedir=$(dirname "$(dirname "$(node -p process.execPath)")")
fi
[[ -f $nodedir/include/node/common.gypi && -f $nodedir/include/node/node_api.h ]] ||
  die "node headers not found under $nodedir/include/node (they come with Debian/NodeSource's nodejs package)"

# node-gyp: npm's bundled copy (npm exports its path to lifecycle scripts), else next to npm.
node_gyp=${npm_config_node_gyp:-}
if [[ -z $node_gyp || ! -f $node_gyp ]]; then
  npm_cli=$(readlink -f "$(command -v npm)") || die "npm not found"
  node_gyp=$(dirname "$(dirname "$npm_cli")")/node_modules/node-gyp/bin/node-gyp.js
fi
[[ -f $node_gyp ]] || die "node-gyp not found (looked for npm's bundled $node_gyp)"

# --- patch ----------------------------------------------------------------------------------------
marked=0 current=0
for f in "${PATCHED_FILES[@]}"; do
  if grep -q "$MARKER" "$PKG/$f"; then marked=$((marked + 1)); fi
  if grep -q "$MARKER $PATCH_VERSION\b" "$PKG/$f"; then current=$((current + 1)); fi
done
if ((current == ${#PATCHED_FILES[@]})); then
  : # already patched with this version
elif ((marked == ${#PATCHED_FILES[@]})); then
  die "$PKG carries an older version of $PATCH (not version $PATCH_VERSION); reinstall it: rm -rf $PKG && npm ci"
elif ((marked == 0)); then
  patch -p1 --forward --dry-run -s <"$PATCH" >/dev/null ||
    die "$PATCH does not apply to $PKG (modified by hand?); reinstall it: rm -rf $PKG && npm ci"
  patch -p1 --forward --no-backup-if-mismatch -s <"$PATCH"
  rm -rf "$PKG/build"
  say "applied $PATCH"
else
  die "$PKG is only partly patched; reinstall it: rm -rf $PKG && npm ci"
fi

# --- build ----------------------------------------------------------------------------------------
binary=$PKG/build/Release/fuse.node
stale=$force
[[ -f $binary ]] || stale=1
for f in "${PATCHED_FILES[@]}"; do
  [[ $PKG/$f -nt $binary ]] && stale=1
done
if ((stale)); then
  log=$(mktemp)
  start=$EPOCHREALTIME
  if ! (cd "$PKG" && node "$node_gyp" rebuild --nodedir="$nodedir") >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    die "building $PKG failed (output above); if headers or tools are missing, $SETUP_HINT"
  fi
  rm -f "$log"
  say "built $binary against the system libfuse in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
fi

# --- check that what gets loaded is the patched build ---------------------------------------------
node -e "
  const Fuse = require('./$PKG');
  if (Fuse.OBJECTFS_PATCH !== $PATCH_VERSION) { console.error('patched binding (version $PATCH_VERSION) not loaded'); process.exit(1) }
" || die "$PKG does not load the patched binary; try: bash scripts/patch-fuse-native.sh --force"
