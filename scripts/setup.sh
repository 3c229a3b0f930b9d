#!/usr/bin/env bash
# Installs everything Drover needs to build and test on Debian 12 (run as root).
# Package lists live in scripts/packages/*.txt (one file per purpose; '#' starts a comment).
# Idempotent: packages already installed are skipped.
set -euo pipefail
cd "$(dirname "$0")"
export DEBIAN_FRONTEND=noninteractive

mapfile -t wanted < <(sed 's/#.*//' packages/*.txt | tr -s ' \t' '\n' | sed '/^$/d' | sort -u)

# A package of another architecture (name:arm64) needs that architecture added to dpkg
# (multiarch) before apt-get update.
host_arch=$(dpkg --print-architecture)
for arch in $(printf '%s\n' "${wanted[@]}" | sed -n 's/^[^:]*:\([a-z0-9]*\)$/\1/p' | sort -u); do
  [[ $arch == "$host_arch" ]] && continue
  if ! dpkg --print-foreign-architectures | grep -x "$arch" >/dev/null; then
    echo "setup: adding architecture $arch"
    dpkg --add-architecture "$arch"
  fi
done

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  apt-get -o DPkg::Lock::Timeout=900 update -q
  apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#wanted[@]} packages present"
fi
