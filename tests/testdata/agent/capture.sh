#!/usr/bin/env bash
# Captures the small /proc and /sys text files the agent's inventory reads into a tree
# usable as a test root: capture.sh <out-dir>. Serial numbers and UUIDs are scrubbed.
set -euo pipefail
out=${1:?usage: capture.sh OUT_DIR}
mkdir -p "$out/proc" "$out/sys/block" "$out/sys/class/net" "$out/sys/class/dmi/id"
cp /proc/cpuinfo /proc/meminfo "$out/proc/"
copy() {  # copy <src> <dst> if readable
  [[ -r $1 ]] && { mkdir -p "$(dirname "$2")"; head -c 4096 "$1" > "$2"; } || true
}
for d in /sys/block/*; do
  n=$(basename "$d"); o="$out/sys/block/$n"
  mkdir -p "$o"
  for f in size removable queue/rotational device/model device/vendor; do copy "$d/$f" "$o/$f"; done
  [[ -r $d/device/serial || -r $d/wwid ]] && echo "SCRUBBED-$n" > "$o/device/serial"
done
for n in /sys/class/net/*; do
  name=$(basename "$n"); o="$out/sys/class/net/$name"
  mkdir -p "$o"
  for f in address operstate carrier; do copy "$n/$f" "$o/$f"; done
  if [[ -e $n/device ]]; then
    mkdir -p "$o/device"
    drv=$(basename "$(readlink "$n/device/driver" 2>/dev/null || true)")
    [[ -n $drv ]] && ln -sfn "../../../../bus/drivers/$drv" "$o/device/driver"
  fi
done
for f in sys_vendor product_name; do copy "/sys/class/dmi/id/$f" "$out/sys/class/dmi/id/$f"; done
[[ -r /sys/class/dmi/id/product_serial ]] && echo SCRUBBED > "$out/sys/class/dmi/id/product_serial"
[[ -r /sys/class/dmi/id/product_uuid ]] && echo 00000000-0000-4000-8000-000000000000 > "$out/sys/class/dmi/id/product_uuid"
[[ -d /sys/firmware/efi ]] && mkdir -p "$out/sys/firmware/efi" || true
