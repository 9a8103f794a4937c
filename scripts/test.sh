#!/usr/bin/env bash
# The project's test command (README "Quick start"): installs what is missing,
# then builds, lints and runs every test. Exits non-zero on the first failure.
#
# Usage: bash scripts/test.sh   (as root on Debian 12; integration tests need it)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n== test.sh: %s\n' "$*"; }

step "install dependencies"
bash scripts/install-deps.sh
step "kube-apiserver (built once from Debian's source package, then cached)"
bash scripts/kube-apiserver.sh
step "npm run build"
npm run --silent build
step "npm run lint"
npm run --silent lint
step "npm test"
npm test -- --forbid-only
