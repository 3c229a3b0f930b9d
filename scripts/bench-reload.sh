#!/usr/bin/env bash
# DHCP answers during config reloads: `drover serve` with the 10,000-node declaration of
# config_bench (`config_bench --write`) answers perfdhcp at a steady rate, twice: once
# undisturbed, once with a SIGHUP (a full reload: parse, checks, inventory, DHCP
# reconfigure) every second. Prints perfdhcp's delays (min/avg/max) of both runs and the
# number of reloads. A benchmark, not a test: nothing fails on a number.
#
#   sudo scripts/bench-reload.sh [--build DIR] [--drover BINARY] [--rate R] [--period S]
#
# --drover serves with another build of drover (an older one, to compare); config_bench
# still comes from --build.
#
# perfdhcp (Debian kea-admin) runs in a client namespace as a relay (giaddr 198.18.0.2)
# against the server namespace (198.18.0.1); the declaration's network is the benchmarking
# range 198.18.0.0/15. Needs root and perfdhcp (scripts/packages/dhcp.txt), config_bench
# and drover built. Bounded: perfdhcp is limited by -p and a timeout; the server is
# stopped by pid; namespaces and files are removed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-netns.sh

build=build
drover=""
rate=500
period=10
while (($#)); do
  case "$1" in
    --build) build=$2; shift ;;
    --drover) drover=$2; shift ;;
    --rate) rate=$2; shift ;;
    --period) period=$2; shift ;;
    *) echo "usage: $0 [--build DIR] [--drover BINARY] [--rate R] [--period S]" >&2; exit 2 ;;
  esac
  shift
done

drover=$(realpath "${drover:-$build/bin/drover}")
bench=$build/bench/config_bench
for tool in perfdhcp "$drover" "$bench"; do
  command -v "$tool" >/dev/null || { echo "bench-reload: $tool not found" >&2; exit 1; }
done

echo "bench-reload: load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
tag=$$
srv=drs$tag cli=drc$tag sif=drs$tag cif=drc$tag
work=$(mktemp -d /tmp/drover-bench-reload.XXXXXX)
server_pid=""

cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  bench_netns_remove "$srv" "$cli"
  rm -rf "$work"
}
trap cleanup EXIT

bench_netns_pair "$srv" "$cli" "$sif" "$cif"
ip -n "$srv" addr add 198.18.0.1/15 dev "$sif"
ip -n "$cli" addr add 198.18.0.2/15 dev "$cif"

# The benchmark's nodes, under a header whose files and listeners are local to the run.
mkdir -p "$work/images" "$work/state"
echo kernel > "$work/images/vmlinuz"
echo initrd > "$work/images/initrd.img"
echo disk > "$work/images/os.raw"
"$bench" --write "$work/generated.yaml"
{
  cat <<EOF
server:
  advertise: 198.18.0.1
  interfaces: [$sif]
  http: { listen: "127.0.0.1:0" }
  api: { listen: "127.0.0.1:0", tls: off }
  state: { backend: sqlite, path: state/state.db }
  boot: { grub_efi: "" }
networks:
  - name: bench
    subnet: 198.18.0.0/15
    pool: 198.19.0.1-198.19.255.254
    gateway: 198.18.0.1
    lease: 1h
images:
  boot-env:
    kernel: { path: images/vmlinuz }
    initrd: { path: images/initrd.img }
  os:
    disk: { path: images/os.raw }
profiles:
  worker:
    install: { image: os, disk: /dev/sda }
defaults:
  unknown: discover
EOF
  sed -n '/^nodes:/,$p' "$work/generated.yaml"
} > "$work/cluster.yaml"
"$drover" validate "$work/cluster.yaml"

start_server() {
  rm -rf "$work/state"
  mkdir -p "$work/state"
  ip netns exec "$srv" "$drover" --log-level info serve -c "$work/cluster.yaml" --state-dir "$work/state" --no-tftp \
    > "$work/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    grep -q SERVE_STARTED "$work/server.out" && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "bench-reload: drover serve did not start:" >&2
  cat "$work/server.out" >&2
  exit 1
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# One perfdhcp run, with or without a reload every second; prints its delays.
run() {  # $1: quiet|reloading
  start_server
  local out=$work/perfdhcp-$1.out
  timeout $((period + 20)) ip netns exec "$cli" perfdhcp -4 -l 198.18.0.2 -r "$rate" -R 60000 \
    -p "$period" -W 2000000 198.18.0.1 > "$out" 2>&1 &
  local perf=$!
  if [[ $1 == reloading ]]; then
    for _ in $(seq "$period"); do
      sleep 1
      kill -HUP "$server_pid"
    done
  fi
  wait "$perf" || true
  sleep 1
  local reloads
  reloads=$(grep -c RELOADED "$work/server.out" || true)
  stop_server
  echo "== $1 (rate $rate/s, ${period}s, reloads: $reloads)"
  awk '/Statistics for: DISCOVER-OFFER/ {print "DISCOVER-OFFER"} /Statistics for: REQUEST-ACK/ {print "REQUEST-ACK"}
       /drops ratio:|min delay:|avg delay:|max delay:/ {print "  " $0}' "$out"
}

run quiet
run reloading
echo "bench-reload: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
grep -h "RELOAD_REJECTED" "$work/server.out" | head -3 || true
