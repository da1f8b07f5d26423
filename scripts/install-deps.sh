#!/usr/bin/env bash
# Installs the Debian packages georep needs to build, test and run.
# Idempotent: does nothing (and needs no network) when everything is present.
set -euo pipefail

PACKAGES=(
  # build
  build-essential meson ninja-build pkg-config
  # libraries (through pkg-config)
  libglusterfs-dev liburcu-dev libssh-dev libacl1-dev
  # tests
  libcmocka-dev googletest libgtest-dev libgmock-dev
  # runtime and integration tests
  glusterfs-server glusterfs-client openssh-server openssh-client attr acl iproute2 util-linux
  psmisc procps jq python3 nftables
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}; run this script as root (sudo $0)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
