#!/usr/bin/env bash
# The one-command demo (README "Quick start"): on a fresh Debian 12 machine,
# as root, it installs what is missing, builds tortie if needed, then brings
# up the leaf-spine lab (test/topologies/leaf-spine.clab.yml) out of network
# namespaces, starts two pods per node through the tortie CNI plugin, shows
# the BGP sessions, a ToR's table and a node's routes, proves cross-rack
# pod-to-pod ping and TCP over plain IP, and tears everything down.
#
# Usage: bash scripts/demo.sh [--keep]     (or: npm run demo [-- --keep])
#   --keep   leave the lab up and print how to explore it
#
# Ctrl-C at any point removes everything the demo built.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'demo: %s\n' "$*"; }

[[ $EUID -eq 0 ]] || { say "run as root: the lab builds network namespaces"; exit 1; }

bash scripts/install-deps.sh

# Build when a bundle is missing or any source is newer than the oldest bundle.
bundles=(dist/bin/tortie-agent dist/bin/tortiectl dist/bin/tortie dist/bin/tortie-ipam)
need_build=0
for b in "${bundles[@]}"; do [[ -x $b ]] || need_build=1; done
if ((need_build == 0)); then
  oldest=$(ls -tr "${bundles[@]}" | head -n1)
  if [[ -n $(find agent bgp cni ipam lib policy scripts/build.mjs package-lock.json -newer "$oldest" \
      \( -name '*.ts' -o -name '*.mjs' -o -name '*.json' \) ! -name '*.test.ts' -print -quit) ]]; then
    need_build=1
  fi
fi
if ((need_build)); then
  say "building (npm run build)"
  npm run --silent build
fi

exec node_modules/.bin/node --import tsx lab/demo.ts "$@"
