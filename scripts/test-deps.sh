#!/usr/bin/env bash
# Installs the Debian packages Meshdeck's tests need (real Prometheus, etcd,
# Chromium) plus what scripts/kube/build.sh needs to build kube-apiserver from
# Debian's kubernetes source package.
#
# Idempotent: only runs apt-get when a package is missing (checked with
# `dpkg -s`), silent when everything is already there.
# Never leaves a system service running: package maintainer scripts are
# prevented from starting daemons (policy-rc.d), and any prometheus/etcd
# daemon that was started anyway is stopped and disabled. Tests always run
# their own instances on free loopback ports.
set -euo pipefail

PACKAGES=(
  # runtime deps of the test fixtures
  prometheus
  etcd-server
  chromium
  # kube-apiserver / kube-controller-manager build (scripts/kube/build.sh)
  golang-go
  build-essential
  rsync
  dpkg-dev
  golang-github-modern-go-reflect2-dev
  golang-github-json-iterator-go-dev
)

die() { echo "test-deps: ERROR: $*" >&2; exit 1; }

missing=()
for pkg in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null 2>&1 || die "need root (or sudo) to install: ${missing[*]}"
  SUDO=(sudo)
fi

for pkg in "${missing[@]}"; do
  echo "test-deps: installing $pkg"
done

# Keep maintainer scripts from starting daemons (Debian's prometheus package
# would otherwise start one on :9090). If a policy-rc.d already exists we
# leave it alone; otherwise install a temporary deny-all one.
POLICY=/usr/sbin/policy-rc.d
temp_policy=0
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  temp_policy=1
fi
cleanup() {
  if [[ $temp_policy -eq 1 ]]; then "${SUDO[@]}" rm -f "$POLICY"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
log=$(mktemp -t meshdeck-test-deps.XXXXXX.log)

need_update=1
# Package lists that are missing (or don't know a package) force an update.
if [[ -n "$(ls -A /var/lib/apt/lists/ 2>/dev/null | grep -v -e '^lock$' -e '^partial$' -e '^auxfiles$' || true)" ]]; then
  need_update=0
  for pkg in "${missing[@]}"; do
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then need_update=1; break; fi
  done
fi
if [[ $need_update -eq 1 ]]; then
  echo "test-deps: apt-get update"
  "${SUDO[@]}" apt-get update -q >"$log" 2>&1 \
    || { tail -n 30 "$log" >&2; die "apt-get update failed (full log: $log)"; }
fi

if ! "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
  tail -n 30 "$log" >&2
  die "apt-get install ${missing[*]} failed (full log: $log)"
fi

# Belt and braces: make sure no packaged daemon is left running or enabled.
for svc in prometheus etcd; do
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    "${SUDO[@]}" systemctl disable --now "$svc" >/dev/null 2>&1 || true
  elif [[ -x /etc/init.d/$svc ]]; then
    "${SUDO[@]}" /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
    "${SUDO[@]}" update-rc.d "$svc" disable >/dev/null 2>&1 || true
  fi
done

for pkg in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || die "$pkg still not installed after apt-get (log: $log)"
done
rm -f "$log"
echo "test-deps: done"
