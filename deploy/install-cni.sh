#!/bin/sh
# install-cni: run by the DaemonSet's init container. Installs the CNI plugins
# onto the host, where no Node runtime can be assumed:
#
#   /opt/tortie/<version>/{node,tortie,tortie-ipam}   pinned runtime + bundles, one dir per version
#   /opt/cni/bin/{tortie,tortie-ipam}                 launchers: exec <version>/node <version>/<plugin>
#   /etc/cni/net.d/10-tortie.conflist                 the network config from the ConfigMap
#
# Upgrades are atomic per file: a version directory is filled under a temporary
# name and renamed into place (and marked complete); launchers and the conflist
# are written beside their target and renamed over it. A pod created during an
# upgrade runs either the old launcher (whose directory is kept) or the new one.
# Idempotent: running it again changes nothing.
set -eu

: "${TORTIE_HOST_CNI_BIN:=/host/opt/cni/bin}"      # host /opt/cni/bin, as mounted here
: "${TORTIE_HOST_CNI_NET:=/host/etc/cni/net.d}"    # host /etc/cni/net.d, as mounted here
: "${TORTIE_HOST_RUNTIME:=/host/opt/tortie}"       # host /opt/tortie, as mounted here
: "${TORTIE_HOST_RUNTIME_PATH:=/opt/tortie}"       # the same directory as the host sees it
: "${TORTIE_CONFLIST:=/etc/tortie/10-tortie.conflist}"
: "${TORTIE_IMAGE_DIR:=/opt/tortie}"               # this image's files
: "${TORTIE_NODE_BIN:=$(command -v node)}"
: "${TORTIE_KEEP_VERSIONS:=2}"

version="$(cat "$TORTIE_IMAGE_DIR/VERSION")"
case "$version" in *[!A-Za-z0-9._-]* | "") echo "install-cni: bad VERSION '$version'" >&2; exit 1 ;; esac
dest="$TORTIE_HOST_RUNTIME/$version"
on_host="$TORTIE_HOST_RUNTIME_PATH/$version"

mkdir -p "$TORTIE_HOST_RUNTIME" "$TORTIE_HOST_CNI_BIN" "$TORTIE_HOST_CNI_NET"

if [ ! -f "$dest/.complete" ]; then
  tmp="$TORTIE_HOST_RUNTIME/.tmp-$version-$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cp "$TORTIE_NODE_BIN" "$tmp/node"
  cp "$TORTIE_IMAGE_DIR/cni/tortie" "$TORTIE_IMAGE_DIR/cni/tortie-ipam" "$tmp/"
  chmod 0755 "$tmp/node" "$tmp/tortie" "$tmp/tortie-ipam"
  "$tmp/node" -e 0 # the runtime starts on this host
  touch "$tmp/.complete"
  rm -rf "$dest" # an incomplete earlier attempt
  mv "$tmp" "$dest"
  echo "install-cni: installed runtime and plugins in $on_host"
fi

# Replace $2 with the content of $1 by rename; mode $3.
replace() {
  t="$(dirname "$2")/.$(basename "$2").tmp.$$"
  cp "$1" "$t"
  chmod "$3" "$t"
  mv -f "$t" "$2"
}

for plugin in tortie tortie-ipam; do
  launcher="$(mktemp)"
  printf '#!/bin/sh\n# tortie %s: installed by the tortie-agent DaemonSet.\nexec %s/node %s/%s "$@"\n' \
    "$version" "$on_host" "$on_host" "$plugin" >"$launcher"
  if ! cmp -s "$launcher" "$TORTIE_HOST_CNI_BIN/$plugin"; then
    replace "$launcher" "$TORTIE_HOST_CNI_BIN/$plugin" 0755
    echo "install-cni: $TORTIE_HOST_CNI_BIN/$plugin -> $on_host/$plugin"
  fi
  rm -f "$launcher"
done

if ! cmp -s "$TORTIE_CONFLIST" "$TORTIE_HOST_CNI_NET/10-tortie.conflist"; then
  replace "$TORTIE_CONFLIST" "$TORTIE_HOST_CNI_NET/10-tortie.conflist" 0644
  echo "install-cni: wrote $TORTIE_HOST_CNI_NET/10-tortie.conflist"
fi

# Keep this version and the newest others (a pod ADD may still be running an older launcher).
ls -1dt "$TORTIE_HOST_RUNTIME"/*/ 2>/dev/null | sed 's:/$::' | grep -v "/$version\$" |
  tail -n +"$TORTIE_KEEP_VERSIONS" | while read -r old; do
    [ -f "$old/.complete" ] && rm -rf "$old" && echo "install-cni: removed old $old"
  done
rm -rf "$TORTIE_HOST_RUNTIME"/.tmp-*
exit 0
