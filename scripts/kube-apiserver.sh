#!/usr/bin/env bash
# Build kube-apiserver from Debian's `kubernetes` source package with Debian's Go, offline, and cache it.
#
#   scripts/kube-apiserver.sh           build if needed; last line: "kube-apiserver: <path>"
#   scripts/kube-apiserver.sh --path    print the cached binary's path only; exit 1 if it is not built
#
# The cache key is the Debian source version plus a hash of this script and scripts/kube/*, so a change to
# either rebuilds. Needs apt packages: golang-1.19-go dpkg-dev (apt-get source) and, to run the tests, etcd-server.
# Environment: TORTIE_CACHE_DIR (default /var/cache/tortie), TORTIE_KUBE_SRC_VERSION (Debian source version),
# TORTIE_KUBE_KEEP_WORK=1 keeps the build tree. No stdin is read; safe for CI.
set -euo pipefail

KUBE_SRC_VERSION="${TORTIE_KUBE_SRC_VERSION:-1.20.5+really1.20.2-1.1+deb12u1}"
REFLECT2_SRC_VERSION="1.0.2-2"
GO_ROOT="/usr/lib/go-1.19"
CACHE_DIR="${TORTIE_CACHE_DIR:-/var/cache/tortie}"
SRC_CACHE="$CACHE_DIR/src"
SOURCES_FILE="/etc/apt/sources.list.d/tortie-deb-src.sources"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
recipe_hash="$( { cat "$here/kube-apiserver.sh"; if [[ -d "$here/kube" ]]; then find "$here/kube" -type f | LC_ALL=C sort | xargs -r cat; fi; } | sha256sum | cut -c1-12)"
out_dir="$CACHE_DIR/kube-apiserver-$KUBE_SRC_VERSION-$recipe_hash"
out_bin="$out_dir/kube-apiserver"

step() { printf 'kube-apiserver: %s\n' "$*"; }
die() { printf 'kube-apiserver: error: %s\n' "$*" >&2; exit 1; }

# Run a noisy command; show its output only when it fails.
quiet() {
  local log
  log="$(mktemp)"
  if ! "$@" >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    rm -f "$log"
    die "failed: $*"
  fi
  rm -f "$log"
}

if [[ "${1:-}" == "--path" ]]; then
  [[ -x "$out_bin" ]] || { echo "not built: run scripts/kube-apiserver.sh (expected $out_bin)" >&2; exit 1; }
  echo "$out_bin"
  exit 0
fi
[[ $# -eq 0 ]] || die "usage: $0 [--path]"

if [[ -x "$out_bin" ]]; then
  step "cached $out_bin"
  exit 0
fi

[[ "$(id -u)" == 0 ]] || die "must run as root (apt-get, $CACHE_DIR)"
export DEBIAN_FRONTEND=noninteractive
start_sec=$SECONDS

# 1. Toolchain.
missing=()
[[ -x "$GO_ROOT/bin/go" ]] || missing+=(golang-1.19-go)
command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
if ((${#missing[@]})); then
  step "apt-get install ${missing[*]}"
  quiet apt-get install -y -q "${missing[@]}"
fi

# 2. Source package index (a deb-src line in a file of our own).
if [[ -z "$(apt-cache showsrc kubernetes 2>/dev/null)" ]]; then
  if [[ ! -f "$SOURCES_FILE" ]]; then
    step "adding deb-src in $SOURCES_FILE"
    cat >"$SOURCES_FILE" <<'EOF'
# Added by tortie scripts/kube-apiserver.sh: Debian source packages (kube-apiserver is built from `kubernetes`).
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  step "apt-get update"
  quiet apt-get update -q
fi

# 3. Fetch the sources into the cache (apt verifies them against the signed Release files).
mkdir -p "$SRC_CACHE"
kube_dsc="$SRC_CACHE/kubernetes_${KUBE_SRC_VERSION#*:}.dsc"
reflect2_dsc="$SRC_CACHE/golang-github-modern-go-reflect2_${REFLECT2_SRC_VERSION#*:}.dsc"
for spec in "kubernetes=$KUBE_SRC_VERSION:$kube_dsc" "golang-github-modern-go-reflect2=$REFLECT2_SRC_VERSION:$reflect2_dsc"; do
  pkg="${spec%%:*}"
  dsc="${spec#*:}"
  [[ -f "$dsc" ]] && continue
  step "apt-get source $pkg"
  if ! apt-cache showsrc "${pkg%%=*}" | grep -qx "Version: ${pkg#*=}"; then
    die "Debian no longer offers $pkg; available: $(apt-cache showsrc "${pkg%%=*}" | awk '/^Version:/{print $2}' | paste -sd' ') (set TORTIE_KUBE_SRC_VERSION for kubernetes)"
  fi
  (cd "$SRC_CACHE" && quiet apt-get source -q --download-only "$pkg")
  [[ -f "$dsc" ]] || die "apt-get source $pkg did not produce $dsc"
done

# 4. Unpack into a fresh work tree.
work="$(mktemp -d "${TMPDIR:-/var/tmp}/tortie-kube-build.XXXXXX")"
cleanup() { if [[ "${TORTIE_KUBE_KEEP_WORK:-}" != 1 ]]; then rm -rf "$work"; fi; }
trap cleanup EXIT
src="$work/gopath/src/k8s.io/kubernetes"
mkdir -p "$(dirname "$src")"
step "unpacking $(basename "$kube_dsc")"
quiet dpkg-source -x "$kube_dsc" "$src"
quiet dpkg-source --skip-patches -x "$reflect2_dsc" "$work/reflect2"

export PATH="$GO_ROOT/bin:$PATH" GOROOT="$GO_ROOT" GOPROXY=off GOSUMDB=off GOTOOLCHAIN=local CGO_ENABLED=0
export GOCACHE="$work/go-cache" GOPATH="$work/gopath" GOFLAGS="-mod=vendor" GO111MODULE=on
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(dpkg-parsechangelog -l "$src/debian/changelog" -STimestamp)}"

# 5. vendor/modules.txt: Go >= 1.17 reads a package line as belonging to the nearest "# module" line above it.
#    The release puts wildcard replacement lines ("# path => path version") between a module and its packages,
#    so packages get attributed to the wrong module and go reports "updates to go.mod needed". Move every
#    wildcard replacement line to the end; they carry no packages.
step "reordering vendor/modules.txt"
awk '($1 == "#" && $3 == "=>") { w[n++] = $0; next } { print } END { for (i = 0; i < n; i++) print w[i] }' \
  "$src/vendor/modules.txt" >"$work/modules.txt"
mv "$work/modules.txt" "$src/vendor/modules.txt"

# 6. modern-go/reflect2 1.0.1 -> 1.0.2 (Go >= 1.18 changed runtime map iteration; 1.0.1 breaks maps at run time).
step "replacing vendored modern-go/reflect2 1.0.1 with 1.0.2 (Debian golang-github-modern-go-reflect2)"
r2="$src/vendor/github.com/modern-go/reflect2"
rm -f "$r2"/*.go "$r2"/*.s
cp "$work/reflect2"/*.go "$work/reflect2"/*.s "$r2/"
sed -i 's|github.com/modern-go/reflect2 v1.0.1|github.com/modern-go/reflect2 v1.0.2|g' "$src/go.mod" "$src/vendor/modules.txt"

cd "$src"
quiet go list ./cmd/kube-apiserver

# 7. OpenAPI definitions (pkg/generated/openapi) are not in the tarball: run the vendored openapi-gen over the
#    same packages `make gen_openapi` would (every Go dir with a +k8s:openapi-gen tag, staging seen as vendor/).
step "building vendored openapi-gen"
quiet go build -trimpath -o "$work/bin/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
step "generating OpenAPI definitions"
find -H . \( -not \( \( -path './_*' -o -path './.*' -o -path ./vendor \) -prune \) \) -type f -name '*.go' |
  sed 's|^\./staging/src|vendor|; s|/[^/]*$||; s|^\./||' | LC_ALL=C sort -u |
  grep -v -e '^vendor/k8s.io/code-generator\(/\|$\)' -e '^vendor/k8s.io/sample-apiserver\(/\|$\)' |
  while read -r dir; do
    for f in "$dir"/*.go; do
      if [[ -f "$f" ]] && grep -q '^// *+k8s:' "$f" && grep -q '+k8s:openapi-gen=' "$f"; then
        echo "$dir"
        break
      fi
    done
  done >"$work/openapi-dirs.txt"
[[ -s "$work/openapi-dirs.txt" ]] || die "no +k8s:openapi-gen packages found"
(
  export GO111MODULE=off GOFLAGS=
  quiet "$work/bin/openapi-gen" --logtostderr \
    -i "$(sed 's|^|k8s.io/kubernetes/|' "$work/openapi-dirs.txt" | paste -sd,)" \
    -p k8s.io/kubernetes/pkg/generated/openapi -O zz_generated.openapi \
    -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt -r "$work/openapi-violations.report"
)
[[ -f pkg/generated/openapi/zz_generated.openapi.go ]] || die "openapi-gen wrote no pkg/generated/openapi"
diff -q "$work/openapi-violations.report" api/api-rules/violation_exceptions.list >/dev/null ||
  die "openapi-gen API rule violations differ from api/api-rules/violation_exceptions.list"

# 8. The server itself.
upstream="${KUBE_SRC_VERSION#*really}"
upstream="${upstream%%-*}"
pkgv="k8s.io/component-base/version"
ldflags="-s -w -X $pkgv.gitVersion=v$upstream -X $pkgv.gitMajor=${upstream%%.*}"
ldflags+=" -X $pkgv.gitMinor=$(cut -d. -f2 <<<"$upstream") -X $pkgv.gitTreeState=clean"
ldflags+=" -X $pkgv.buildDate=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
step "go build ./cmd/kube-apiserver (several minutes)"
quiet go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$work/bin/kube-apiserver" ./cmd/kube-apiserver
quiet "$work/bin/kube-apiserver" --version

mkdir -p "$out_dir"
cp "$work/bin/kube-apiserver" "$out_bin.tmp"
mv "$out_bin.tmp" "$out_bin"
step "built in $((SECONDS - start_sec)) s: $out_bin"
