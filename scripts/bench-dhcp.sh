#!/usr/bin/env bash
# DHCP capacity: Drover's harness (SQLite, every ACK durable) against ISC Kea kea-dhcp4
# (memfile backend) in the same run, on the same namespaces, with the same load.
#
#   scripts/bench-dhcp.sh [--build DIR] [--rates "500 1000 ..."] [--period S] [--clients N]
#
# perfdhcp (Debian kea-admin) runs in a client namespace as a relay (giaddr 192.0.2.2)
# against the server in a server namespace (192.0.2.1); both servers hand out addresses
# from the benchmarking range 198.18.0.0/15, selected by the relay address, so -R 60000
# distinct MACs fit. For each server, the rate ramps up; capacity is the highest rate whose
# DISCOVER-OFFER and REQUEST-ACK drops both stay at or below 2.5%. This is a benchmark,
# not a test: it prints a table and the ratio; nothing fails on a number.
# Needs root, perfdhcp, kea-dhcp4 (scripts/packages/dhcp.txt). Bounded: every perfdhcp
# run is limited by -p and a timeout; servers are stopped by pid; namespaces removed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-netns.sh

build=build
rates="250 500 750 1000 1500 2000 2500 3000 4000 5000 6000 8000 10000 12000"
period=5
clients=60000
while (($#)); do
  case "$1" in
    --build) build=$2; shift ;;
    --rates) rates=$2; shift ;;
    --period) period=$2; shift ;;
    --clients) clients=$2; shift ;;
    *) echo "usage: $0 [--build DIR] [--rates LIST] [--period S] [--clients N]" >&2; exit 2 ;;
  esac
  shift
done

harness=$build/bin/dhcp_harness
for tool in perfdhcp kea-dhcp4 "$harness"; do
  command -v "$tool" >/dev/null || { echo "bench-dhcp: $tool not found (build dhcp_harness, install scripts/packages/dhcp.txt)" >&2; exit 1; }
done

tag=$$
srv=dbs$tag cli=dbc$tag sif=dbs$tag cif=dbc$tag
work=$(mktemp -d /tmp/drover-bench-dhcp.XXXXXX)
server_pid=""

cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null || true
  bench_netns_remove "$srv" "$cli"
  rm -rf "$work"
}
trap cleanup EXIT

bench_netns_pair "$srv" "$cli" "$sif" "$cif"

cat > "$work/drover.json" <<EOF
{"server_address": "192.0.2.1", "interfaces": ["$sif"],
 "discover_limits": {"interface_rate": 0},
 "networks": [{"name": "bench", "subnet": "198.18.0.0/15", "pool": "198.18.0.10-198.19.255.250",
               "relays": ["192.0.2.2"], "lease_seconds": 3600}]}
EOF

cat > "$work/kea.json" <<EOF
{"Dhcp4": {
  "interfaces-config": {"interfaces": ["$sif"], "dhcp-socket-type": "udp"},
  "lease-database": {"type": "memfile", "persist": true, "name": "$work/kea-leases4.csv", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.0.10 - 198.19.255.250"}],
               "relay": {"ip-addresses": ["192.0.2.2"]}}],
  "loggers": [{"name": "kea-dhcp4", "severity": "WARN", "output_options": [{"output": "$work/kea.log"}]}]
}}
EOF

start_server() {  # $1: drover|kea
  rm -f "$work"/leases.db* "$work"/kea-leases4.csv*
  if [[ $1 == drover ]]; then
    ip netns exec "$srv" "$harness" --config "$work/drover.json" --db "$work/leases.db" --log-level warn \
      > "$work/server.out" 2>&1 &
  else
    KEA_PIDFILE_DIR=$work KEA_LOCKFILE_DIR=$work ip netns exec "$srv" kea-dhcp4 -c "$work/kea.json" \
      > "$work/server.out" 2>&1 &
  fi
  server_pid=$!
  sleep 1.5
  kill -0 "$server_pid" 2>/dev/null || { echo "bench-dhcp: $1 did not start:" >&2; cat "$work/server.out" >&2; exit 1; }
}

stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# One perfdhcp run; prints "<offer-drop%> <ack-drop%> <acks received>".
run_rate() {
  local rate=$1 out=$work/perfdhcp.out
  timeout $((period + 20)) ip netns exec "$cli" perfdhcp -4 -l 192.0.2.2 -r "$rate" -R "$clients" \
    -p "$period" -W 2000000 192.0.2.1 > "$out" 2>&1 || true
  awk '/Statistics for: DISCOVER-OFFER/ {s=1} /Statistics for: REQUEST-ACK/ {s=2}
       /drops ratio:/ {gsub("%",""); d[s]=$3}
       /received packets:/ {r[s]=$3}
       END {printf "%s %s %s\n", (d[1]==""?100:d[1]), (d[2]==""?100:d[2]), (r[2]==""?0:r[2])}' "$out"
}

declare -A capacity
results=$work/results.txt
: > "$results"
for server in drover kea; do
  capacity[$server]=0
  for rate in $rates; do
    start_server "$server"
    read -r offer_drop ack_drop acks < <(run_rate "$rate")
    stop_server
    printf '%-7s rate=%-6s offer_drops=%6s%% ack_drops=%6s%% acks=%s\n' "$server" "$rate" "$offer_drop" "$ack_drop" "$acks" \
      | tee -a "$results"
    if awk -v a="$offer_drop" -v b="$ack_drop" 'BEGIN {exit !(a <= 2.5 && b <= 2.5)}'; then
      capacity[$server]=$rate
    else
      break
    fi
  done
done

echo
echo "capacity at <= 2.5% drops (exchanges/s): drover=${capacity[drover]} kea=${capacity[kea]}"
if ((capacity[kea] > 0)); then
  awk -v d="${capacity[drover]}" -v k="${capacity[kea]}" 'BEGIN {printf "ratio drover/kea: %.2f\n", d / k}'
fi
