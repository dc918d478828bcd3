#!/usr/bin/env bash
# Builds kube-apiserver and kube-controller-manager v1.20.2 from Debian
# bookworm's `kubernetes` source package (the full upstream v1.20.2 tree with
# vendor/), for the tests' real Kubernetes API server.
#
# Output (cached outside the checkout, keyed by version):
#   ${MESHDECK_CACHE:-$HOME/.cache/meshdeck}/kube-1.20.2/bin/{kube-apiserver,kube-controller-manager}
#   and bin/kubectl when the machine has no kubectl (or MESHDECK_BUILD_KUBECTL is set).
# If both binaries exist this exits 0 at once. Concurrent callers are
# serialised with flock, so only one builds.
#
# Needs (scripts/test-deps.sh installs them): golang-go, build-essential,
# rsync, dpkg-dev, golang-github-modern-go-reflect2-dev,
# golang-github-json-iterator-go-dev.
#
# Debian's Go is 1.19; the vendored reflect2 1.0.1 / json-iterator 1.1.10
# crash under Go >= 1.18 ("fatal error: fault" on the first custom-resource
# create), so they are swapped for Debian's reflect2 1.0.2 / json-iterator
# 1.1.12 before building.
#
# /etc/apt is never touched: the deb-src entries live in a private sources
# list and lists dir under the cache.
set -euo pipefail

KUBE_VERSION=1.20.2
DEB_SRC_VERSION_RE='really1\.20\.2'   # 1.20.5+really1.20.2-1.1+deb12u1
REFLECT2_VERSION=v1.0.2
JSONITER_VERSION=v1.1.12
GOCODE=/usr/share/gocode/src

CACHE_ROOT=${MESHDECK_CACHE:-$HOME/.cache/meshdeck}
DEST=$CACHE_ROOT/kube-$KUBE_VERSION
BIN=$DEST/bin
BINARIES=(kube-apiserver kube-controller-manager)
# kubectl (tests/deploy: kustomize, apply --dry-run=server, auth can-i) only when the machine
# has none: then it is built from the same source, v1.20.2 like the server.
if ! command -v kubectl >/dev/null 2>&1 || [[ -n ${MESHDECK_BUILD_KUBECTL:-} ]]; then
  BINARIES+=(kubectl)
fi

log() { echo "kube-build: $*"; }
die() { echo "kube-build: ERROR: $*" >&2; exit 1; }

have_all() {
  local b
  for b in "${BINARIES[@]}"; do [[ -x $BIN/$b ]] || return 1; done
}

have_all && exit 0

mkdir -p "$DEST"
exec 9>"$DEST/.lock"
if ! flock -n 9; then
  log "another build is running; waiting for it (lock $DEST/.lock)"
  flock 9
fi
# The build we waited on may have produced everything.
have_all && exit 0

for tool in go make rsync dpkg-source apt-get flock; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; run scripts/test-deps.sh first"
done
for d in "$GOCODE/github.com/modern-go/reflect2" "$GOCODE/github.com/json-iterator/go"; do
  [[ -d $d ]] || die "$d missing; run scripts/test-deps.sh first"
done

WORK=$DEST/work
APT=$WORK/apt
SRC_PARENT=$WORK/src
LOG=$WORK/build.log
mkdir -p "$WORK"
: >"$LOG"

fail_with_log() {
  echo "---- last lines of $LOG ----" >&2
  tail -n 40 "$LOG" >&2
  die "$1 (full log: $LOG)"
}

# ---------------------------------------------------------------- source ----
SRC=""
find_src() {
  SRC=$(find "$SRC_PARENT" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' 2>/dev/null | head -n1 || true)
}
find_src
if [[ -z $SRC || ! -f $SRC/.meshdeck-source-ok ]]; then
  log "fetching Debian bookworm source package 'kubernetes' (~35 MB)..."
  rm -rf "$SRC_PARENT" "$APT"
  mkdir -p "$SRC_PARENT" "$APT/lists/partial" "$APT/parts" "$APT/cache/archives/partial"

  # Mirror the machine's Debian mirrors as deb-src (same hosts), defaulting
  # to deb.debian.org. The suite is pinned to bookworm: that is where the
  # 1.20.2 package lives, whatever release this machine runs.
  main_uri=""; sec_uri=""
  while read -r uri; do
    case $uri in
      *debian-security*) [[ -n $sec_uri ]] || sec_uri=$uri ;;
      */debian|*/debian/) [[ -n $main_uri ]] || main_uri=${uri%/} ;;
    esac
  done < <( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{for (i=2;i<=NF;i++) print $i}';
              grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
                | sed -E 's/\[[^]]*\]//' | awk '{print $2}'; } || true)
  main_uri=${main_uri:-http://deb.debian.org/debian}
  sec_uri=${sec_uri:-http://deb.debian.org/debian-security}
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  {
    echo "deb-src [signed-by=$keyring] $main_uri bookworm main"
    echo "deb-src [signed-by=$keyring] $main_uri bookworm-updates main"
    echo "deb-src [signed-by=$keyring] ${sec_uri%/} bookworm-security main"
  } >"$APT/sources.list"

  APT_OPTS=(
    -o "Dir::Etc::SourceList=$APT/sources.list"
    -o "Dir::Etc::SourceParts=$APT/parts"
    -o "Dir::State::Lists=$APT/lists"
    -o "Dir::Cache=$APT/cache"
    -o "APT::Sandbox::User=root"
    -q
  )
  apt-get "${APT_OPTS[@]}" update >>"$LOG" 2>&1 || fail_with_log "apt-get update (private deb-src list) failed"
  ver=$(apt-cache "${APT_OPTS[@]}" showsrc kubernetes 2>>"$LOG" | awk '/^Version:/{print $2}' | grep -E "$DEB_SRC_VERSION_RE" | sort -V | tail -n1 || true)
  [[ -n $ver ]] || fail_with_log "no 'kubernetes' source package with upstream $KUBE_VERSION found in bookworm"
  log "source version $ver"
  (cd "$SRC_PARENT" && apt-get "${APT_OPTS[@]}" source "kubernetes=$ver" >>"$LOG" 2>&1) \
    || fail_with_log "apt-get source kubernetes=$ver failed"
  rm -f "$SRC_PARENT"/*.tar.* "$SRC_PARENT"/*.dsc
  find_src
  [[ -n $SRC && -f $SRC/go.mod && -d $SRC/vendor ]] || fail_with_log "unpacked source tree not found under $SRC_PARENT"
  touch "$SRC/.meshdeck-source-ok"
fi

# ----------------------------------------------- vendor fix for Go >= 1.18 ----
if [[ ! -f $SRC/.meshdeck-vendor-patched ]]; then
  log "replacing vendored reflect2 -> $REFLECT2_VERSION, json-iterator -> $JSONITER_VERSION (Go >= 1.18 fix)"
  replace_vendor() {  # <module path>
    local mod=$1 dst=$SRC/vendor/$1 f
    rm -rf "$dst"
    mkdir -p "$dst"
    # Only the package itself (no tests, sub-packages or go.mod): that is all
    # vendor/modules.txt lists for these modules.
    for f in "$GOCODE/$mod"/*; do
      case $(basename "$f") in
        *_test.go) ;;
        *.go|*.s|LICENSE*) cp "$f" "$dst/" ;;
      esac
    done
  }
  replace_vendor github.com/modern-go/reflect2
  replace_vendor github.com/json-iterator/go
  sed -i -E \
    -e "s#(github\.com/modern-go/reflect2) v1\.0\.1#\1 $REFLECT2_VERSION#g" \
    -e "s#(github\.com/json-iterator/go) v1\.1\.10#\1 $JSONITER_VERSION#g" \
    "$SRC/go.mod" "$SRC/vendor/modules.txt"
  touch "$SRC/.meshdeck-vendor-patched"
fi

# ----------------------------------------------------------------- build ----
mkdir -p "$WORK/gocache" "$WORK/home"
export GOCACHE=$WORK/gocache
export GOFLAGS=-mod=vendor
export GOPROXY=off
export GO111MODULE=on
export CGO_ENABLED=0
export HOME=$WORK/home        # the kube Makefile may write under $HOME
export KUBE_VERBOSE=0
unset GOPATH GOROOT

declare -A ETA=([kube-apiserver]="about 4 min" [kube-controller-manager]="about 1.5 min" [kubectl]="about 1.5 min")
start_all=$SECONDS
for b in "${BINARIES[@]}"; do
  if [[ -x $SRC/_output/bin/$b ]]; then continue; fi
  log "building $b (${ETA[$b]} on 2 cores; log: $LOG)..."
  t0=$SECONDS
  (cd "$SRC" && make WHAT="cmd/$b" >>"$LOG" 2>&1) || fail_with_log "make WHAT=cmd/$b failed"
  [[ -x $SRC/_output/bin/$b ]] || fail_with_log "make finished but _output/bin/$b is missing"
  log "built $b in $((SECONDS - t0))s"
done

mkdir -p "$BIN"
for b in "${BINARIES[@]}"; do
  cp "$SRC/_output/bin/$b" "$BIN/.$b.tmp"
  mv -f "$BIN/.$b.tmp" "$BIN/$b"
done
"$BIN/kube-apiserver" --version >>"$LOG" 2>&1 || fail_with_log "built kube-apiserver does not run"
log "$("$BIN/kube-apiserver" --version) ready in $BIN (build took $((SECONDS - start_all))s)"

# The work tree (source, Go build cache) is ~2 GB and only needed to build
# again; keep it only on request.
if [[ -z ${MESHDECK_KEEP_KUBE_BUILD:-} ]]; then
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
fi
