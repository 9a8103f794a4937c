#!/usr/bin/env bash
# Installs what tortie's build and tests need on Debian 12: the apt packages
# (network tools and the BGP daemons the interop tests peer with) and the npm
# dev dependencies, which include the pinned Node 24 runtime.
#
# Idempotent and quiet: it prints one line per step and installs only what is
# missing. Safe to run with no stdin (CI). Installing apt packages needs root.
#
# Usage: bash scripts/install-deps.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

APT_PACKAGES=(iproute2 iptables ipset tshark tcpdump bird2 frr gobgpd exabgp
  containernetworking-plugins containerd busybox-static iperf3 podman
  golang-1.19-go etcd-server dpkg-dev openssl)
LOCK_HASH_FILE=node_modules/.tortie-lock-hash

say() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

# --- apt -------------------------------------------------------------------

wanted=("${APT_PACKAGES[@]}")
if ! command -v npm >/dev/null 2>&1; then
  wanted+=(nodejs npm)
fi
missing=()
for pkg in "${wanted[@]}"; do
  is_installed "$pkg" || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  say "apt: all ${#wanted[@]} packages present"
else
  [[ $EUID -eq 0 ]] || die "apt: missing ${missing[*]}; run as root to install them"
  say "apt: installing ${missing[*]}"
  log=$(mktemp /tmp/tortie-apt.XXXXXX.log)
  created_policy=0
  cleanup_apt() {
    if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  }
  trap cleanup_apt EXIT
  # Keep the daemons we install (bird, frr, ...) from starting as services:
  # tests start their own instances inside network namespaces.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  # tshark asks whether non-root users may capture; answer for it.
  echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq >"$log" 2>&1 ||
    ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    tail -n 40 "$log" >&2
    die "apt: install failed (full log: $log)"
  fi
  cleanup_apt
  created_policy=0
  trap - EXIT
  rm -f "$log"
  say "apt: installed ${#missing[@]} packages"
fi

# --- npm -------------------------------------------------------------------

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)

# True when node_modules holds exactly what package-lock.json pins, judged by
# npm's own record of the tree (node_modules/.package-lock.json).
tree_matches_lock() {
  [[ -f node_modules/.package-lock.json ]] || return 1
  node -e '
    const fs = require("node:fs");
    const want = JSON.parse(fs.readFileSync("package-lock.json", "utf8")).packages ?? {};
    const have = JSON.parse(fs.readFileSync("node_modules/.package-lock.json", "utf8")).packages ?? {};
    for (const [path, w] of Object.entries(want)) {
      if (path === "") continue;
      const h = have[path];
      if (h === undefined) { if (w.optional) continue; process.exit(1); }
      if (h.version !== w.version || h.integrity !== w.integrity) process.exit(1);
    }
    for (const path of Object.keys(have)) if (!(path in want)) process.exit(1);
  '
}

# The pinned runtime must actually run (its binary arrives by an install script).
pinned_node_works() {
  local want
  want=$(node -p 'require("./package-lock.json").packages["node_modules/node"]?.version ?? ""')
  [[ -n $want ]] || return 1
  [[ "$(node_modules/.bin/node --version 2>/dev/null || true)" == "v$want" ]]
}

if [[ -f $LOCK_HASH_FILE && "$(cat "$LOCK_HASH_FILE")" == "$lock_hash" ]] && pinned_node_works; then
  say "npm: node_modules matches package-lock.json"
elif tree_matches_lock && pinned_node_works; then
  echo "$lock_hash" >"$LOCK_HASH_FILE"
  say "npm: node_modules matches package-lock.json (recorded)"
else
  say "npm: npm ci"
  npm ci --no-audit --no-fund --loglevel=error </dev/null
  pinned_node_works || die "npm: node_modules/.bin/node is not the pinned version after npm ci"
  echo "$lock_hash" >"$LOCK_HASH_FILE"
  say "npm: installed ($(node_modules/.bin/node --version))"
fi
