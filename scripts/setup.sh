#!/usr/bin/env bash
# Installs everything Drover needs to build and test on Debian 12 (run as root).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config git
  libboost-dev libyaml-cpp-dev libcurl4-openssl-dev libssl-dev
  libspdlog-dev libfmt-dev nlohmann-json3-dev libkainjow-mustache-dev libcli11-dev
  libsqlite3-dev libgtest-dev libgmock-dev googletest libbenchmark-dev
  libzstd-dev liblzma-dev zlib1g-dev
)
# Real peers used by integration tests.
TEST_PKGS=(
  iproute2 curl python3 cloud-init
)

missing=()
for p in "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" ${DROVER_EXTRA_PKGS:-}; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present"
fi
