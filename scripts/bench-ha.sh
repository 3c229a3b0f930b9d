#!/usr/bin/env bash
# DHCP throughput of `drover serve` and its peers, taking turns at every rate in the same
# run, with the same load: three replicas on a three-member etcd (server.state.backend:
# etcd), one replica on SQLite, and, as references, ISC Kea 2.2 memfile (`kea`; `kea-mt`
# with a thread per core), dnsmasq and ISC dhcpd (both without ping). Not a test: it
# measures, prints a table and plots; nothing fails on a number (only duplicate addresses
# in etcd make it exit 1). scripts/bench-dhcp.sh runs it for the single server and peers.
#
#   scripts/bench-ha.sh [--build DIR] [--rates "500 1000 2000 4000 8000"] [--period S]
#                       [--clients N] [--setups "ha sqlite kea kea-mt dnsmasq dhcpd"]
#                       [--results DIR] [--store-dir DIR] [--pin] [--delays-at RATE]
#                       [--cpu-budget FRACTION]
#
# Drover's limit on new clients' DISCOVERs per interface (server.dhcp.interface_discover_rate,
# a flood defence) is off here, as the peers have none: this measures capacity.
# Layout: one L2 segment, a bridge in a switch namespace, 198.18.0.0/15 (RFC 2544
# benchmarking range): perfdhcp in a client namespace at 198.18.0.1, replica rN in its own
# namespace at 198.18.0.(2+N) (eth0, --advertise), the etcd members m0-m2 on the bridge at
# 198.18.0.11-13. perfdhcp (Debian kea-admin) acts as a relay (giaddr 198.18.0.1) and
# broadcasts (server `all`), so every replica hears every request and only the client's
# owner answers, as on a rack's segment; the SQLite setup is replica r0 alone, same
# broadcast. Pool: 198.18.1.0-198.19.255.250; unknown machines get an address.
# For each setup the offered rate ramps up (each rate `--period` seconds, -R `--clients`
# MACs, every rate on fresh servers and an empty store: etcd and SQLite data in
# `--store-dir`, by default a new directory in /var/tmp, so both fsync to the same disk).
# The ramp of a setup stops after the first rate with more than 2.5% DISCOVER-OFFER or
# REQUEST-ACK drops; its capacity is the highest rate with both at or under 2.5%. After every HA rate, etcd's lease keys
# are read (tests/e2e/check_ha_leases.py): an address held by two MACs is a duplicate, and
# the total must be 0.
# The 1-minute load average is printed before and after; a run that starts above 1.5 is
# marked discarded (the machine was busy: its numbers say little).
# Output in --results (default BUILD/bench-ha/<UTC time>): results.csv, summary.txt (the
# table), achieved-vs-offered.svg (gnuplot), each rate's perfdhcp output and the replicas'
# DHCP reply and drop counters.
# Needs root, perfdhcp (scripts/packages/dhcp.txt), etcd (etcd-server), gnuplot, curl.
# Bounded: every perfdhcp run has -p and a timeout, every wait a limit; servers are
# stopped by pid and the namespaces removed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/bench-netns.sh

build=build
rates="500 1000 2000 4000 8000"
period=5
clients=60000
setups="ha sqlite kea"
results=""
store_parent=/var/tmp
pin=0
delays_at=
cpu_budget=
while (($#)); do
  case "$1" in
    --build) build=$2; shift ;;
    --rates) rates=$2; shift ;;
    --period) period=$2; shift ;;
    --clients) clients=$2; shift ;;
    --setups) setups=$2; shift ;;
    --results) results=$2; shift ;;
    --store-dir) store_parent=$2; shift ;;
    --pin) pin=1 ;;
    --delays-at) delays_at=$2; shift ;;
    --cpu-budget) cpu_budget=$2; shift ;;
    *) echo "usage: $0 [--build DIR] [--rates LIST] [--period S] [--clients N] [--setups \"ha sqlite kea ...\"] [--results DIR] [--store-dir DIR] [--pin] [--delays-at RATE] [--cpu-budget FRACTION]" >&2; exit 2 ;;
  esac
  shift
done

drover=$root/$build/bin/drover
[[ -x $drover ]] || { echo "bench-ha: $drover is not built" >&2; exit 2; }
for tool in perfdhcp etcd gnuplot curl python3; do
  command -v "$tool" >/dev/null || { echo "bench-ha: $tool not found (scripts/packages/dhcp.txt, test.txt, storm.txt)" >&2; exit 2; }
done
((EUID == 0)) || { echo "bench-ha: needs root (network namespaces)" >&2; exit 2; }
for s in $setups; do
  case $s in
    ha | sqlite) ;;
    kea | kea-mt) command -v kea-dhcp4 >/dev/null || { echo "bench-ha: kea-dhcp4 not found (scripts/packages/dhcp.txt)" >&2; exit 2; } ;;
    dnsmasq) command -v dnsmasq >/dev/null || { echo "bench-ha: dnsmasq not found (scripts/packages/storm.txt)" >&2; exit 2; } ;;
    dhcpd) command -v dhcpd >/dev/null || { echo "bench-ha: dhcpd not found (Debian isc-dhcp-server)" >&2; exit 2; } ;;
    *) echo "bench-ha: unknown setup $s (ha, sqlite, kea, kea-mt, dnsmasq, dhcpd)" >&2; exit 2 ;;
  esac
done
results=${results:-$root/$build/bench-ha/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$results"
results=$(realpath "$results")

tag=$$
sw=bhas$tag cli=bhac$tag
rns=(bhar0$tag bhar1$tag bhar2$tag)
rip=(198.18.0.2 198.18.0.3 198.18.0.4)
mip=(198.18.0.11 198.18.0.12 198.18.0.13)
# --delays-at RATE: at that rate, a tcpdump capture on the client's link gives each
# setup's DISCOVER-OFFER and REQUEST-ACK delay percentiles (scripts/dhcp-delays.py;
# perfdhcp itself reports only the average and the largest); in delays.txt.
# --pin: perfdhcp on the first CPU, the server under test (all its threads) on the last, so
# the measuring client never competes with the server for a core.
server_cpu=() client_cpu=()
if ((pin)); then
  server_cpu=(taskset -c "$(($(nproc) - 1))") client_cpu=(taskset -c 0)
fi
# --cpu-budget F: the server under test (every Drover replica, or the peer; not etcd) runs
# in a cgroup held to F of one CPU (bench-netns.sh). On a machine where one perfdhcp cannot
# offer more than the servers answer, both get the same budget and the ramp finds each
# one's capacity within it: a ratio of capacity per CPU, said so in the summary.
budget_exec=()
work=$(mktemp -d /tmp/drover-bench-ha.XXXXXX)
store=$(mktemp -d "$store_parent/drover-bench-ha-store.XXXXXX")
pids=()

stop_all() {  # newest first (replicas before etcd): SIGTERM, then -9 after 5 s, by pid
  local i p
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    p=${pids[$i]}
    kill "$p" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
# perfdhcp's socket overflowed the kernel's default receive buffer at 8,000-10,000 DORA/s
# while the server had answered everything: the run raises the default (bench-netns.sh).
cleanup() {
  bench_rmem_restore
  stop_all
  bench_cpu_budget_remove
  local ns
  for ns in "$cli" "${rns[@]}" "$sw"; do ip netns del "$ns" 2>/dev/null || true; done
  rm -rf "$work" "$store"
}
trap cleanup EXIT

load1() { cut -d' ' -f1 /proc/loadavg; }
load_start=$(load1)
discarded=$(awk -v l="$load_start" 'BEGIN { print (l > 1.5) ? 1 : 0 }')
echo "bench-ha: load average before: $(cut -d' ' -f1-3 /proc/loadavg)$( ((discarded)) && echo " (> 1.5: this run is marked discarded)")"

bench_rmem_raise "bench-ha: "
if [[ -n $cpu_budget ]]; then
  bench_cpu_budget_create "bench-ha: " "drover-bench-ha-$tag" "$cpu_budget" || exit 2
  budget_exec=("${bench_cpu_budget_exec[@]}")
fi

# The segment: a bridge in the switch namespace; etcd's addresses on the bridge itself.
ip netns add "$sw"
ip -n "$sw" link set lo up
ip -n "$sw" link add br0 type bridge
ip -n "$sw" link set br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0
for a in "${mip[@]}"; do ip -n "$sw" addr add "$a/15" dev br0; done
ip -n "$sw" link set br0 up
plug() {  # NS IP: NS gets eth0, a port of the bridge, holding IP
  local ns=$1 outer=v$1
  ip netns add "$ns"
  ip link add "$outer" type veth peer name "i$outer"
  ip link set "$outer" netns "$sw"
  ip link set "i$outer" netns "$ns"
  ip -n "$ns" link set "i$outer" name eth0
  ip -n "$ns" addr add "$2/15" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$sw" link set "$outer" master br0 up
}
plug "$cli" 198.18.0.1
for i in 0 1 2; do plug "${rns[$i]}" "${rip[$i]}"; done

# The declaration: a boot environment and an OS image of a few bytes (no machine boots
# here; unknown machines only need an address), one network on the segment.
mkdir -p "$work/images" "$work/tftp"
head -c 4096 /dev/zero > "$work/images/vmlinuz"
head -c 4096 /dev/zero > "$work/images/initrd.img"
head -c 4096 /dev/zero > "$work/images/os.raw"
endpoints=""
for a in "${mip[@]}"; do endpoints+="${endpoints:+, }\"http://$a:2379\""; done
declaration() {  # STATE_LINE -> the cluster file
  cat <<EOF
server:
  advertise: ${rip[0]}
  interfaces: [eth0]
  tftp: { listen: "0.0.0.0:69", root: $work/tftp }
  http: { listen: "0.0.0.0:8080" }
  api: { listen: "0.0.0.0:8443", tls: auto }
  dhcp: { interface_discover_rate: 0 }
  state: $1
networks:
  - name: bench
    subnet: 198.18.0.0/15
    pool: 198.18.1.0-198.19.255.250
    gateway: 198.18.0.1
    lease: 1h
images:
  boot-env:
    kernel: { path: $work/images/vmlinuz }
    initrd: { path: $work/images/initrd.img }
  os:
    disk: { path: $work/images/os.raw }
profiles:
  server:
    install: { image: os, disk: /dev/vda }
defaults:
  profile: server
  unknown: install
nodes:
  - name: node-0
    mac: 02:00:00:00:00:01
    ip: 198.18.0.5
EOF
}
declaration "{ backend: etcd, endpoints: [$endpoints], prefix: /drover, replica_ttl: 3s, path: $store/r/state.db }" > "$work/ha.yaml"
declaration "{ backend: sqlite, path: $store/r0/state.db }" > "$work/sqlite.yaml"
"$drover" validate "$work/ha.yaml" > /dev/null
"$drover" validate "$work/sqlite.yaml" > /dev/null

bg() {  # NS LOG CMD...: in the background, pid recorded
  local ns=$1 log=$2
  shift 2
  "${bg_prefix[@]}" ip netns exec "$ns" "${server_cpu[@]}" "$@" > "$log" 2>&1 < /dev/null &
  pids+=($!)
}
bg_prefix=()
bg_server() {  # as bg, for a server under test: within the CPU budget, if any (joined
  # before entering the namespace, whose /sys has no cgroup tree)
  local -a bg_prefix=("${budget_exec[@]}")
  bg "$@"
}
live() {  # replicas that replica N sees alive
  ip netns exec "$cli" curl -sf --max-time 2 "http://${rip[$1]}:8080/metrics" 2>/dev/null |
    awk '$1 == "drover_ha_replicas_live" { print $2 + 0; f = 1 } END { if (!f) print 0 }'
}

start_ha() {
  local i cluster="" token="bench-ha-$tag-$RANDOM"
  rm -rf "$store"/*
  for i in 0 1 2; do cluster+="${cluster:+,}m$i=http://${mip[$i]}:2380"; done
  for i in 0 1 2; do
    bg "$sw" "$work/etcd$i.log" etcd --name "m$i" --data-dir "$store/etcd$i" \
      --listen-client-urls "http://${mip[$i]}:2379" --advertise-client-urls "http://${mip[$i]}:2379" \
      --listen-peer-urls "http://${mip[$i]}:2380" --initial-advertise-peer-urls "http://${mip[$i]}:2380" \
      --initial-cluster "$cluster" --initial-cluster-token "$token" --logger zap --log-level warn
  done
  local ok=0 deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    ok=1
    for i in 0 1 2; do
      ip netns exec "$cli" curl -sf --max-time 1 "http://${mip[$i]}:2379/health" 2>/dev/null | grep -q '"health":"true"' || ok=0
    done
    ((ok)) && break
    sleep 0.1
  done
  ((ok)) || { cat "$work/etcd0.log" >&2; echo "bench-ha: etcd is not healthy" >&2; exit 1; }
  for i in 0 1 2; do
    bg_server "${rns[$i]}" "$work/r$i.log" "$drover" --log-level warn serve --config "$work/ha.yaml" \
      --state-dir "$store/r$i" --replica-id "r$i" --advertise "${rip[$i]}"
  done
  deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    [[ $(live 0) == 3 && $(live 1) == 3 && $(live 2) == 3 ]] && return
    sleep 0.1
  done
  tail -n 20 "$work"/r?.log >&2
  echo "bench-ha: the replicas did not all see each other" >&2
  exit 1
}

start_sqlite() {
  rm -rf "$store"/*
  bg_server "${rns[0]}" "$work/r0.log" "$drover" --log-level warn serve --config "$work/sqlite.yaml" --state-dir "$store/r0"
  local deadline=$((SECONDS + 30))
  while ((SECONDS < deadline)); do
    ip netns exec "$cli" curl -sf --max-time 1 -o /dev/null "http://${rip[0]}:8080/healthz" && return
    sleep 0.1
  done
  cat "$work/r0.log" >&2
  echo "bench-ha: drover serve (SQLite) did not start" >&2
  exit 1
}

# The peers, alone in replica r0's namespace, on the same segment, pool and lease time as
# Drover; every peer writes its lease file to the same store directory.
start_peer() {  # kea|dnsmasq|dhcpd
  rm -rf "$store"/*
  mkdir -p "$store/peer"
  case $1 in
    kea | kea-mt)
      local mt=false
      [[ $1 == kea-mt ]] && mt=true
      cat > "$work/kea.json" <<EOF
{"Dhcp4": {
  "interfaces-config": {"interfaces": ["eth0"], "dhcp-socket-type": "raw"},
  "lease-database": {"type": "memfile", "persist": true, "name": "$store/peer/kea-leases4.csv", "lfc-interval": 0},
  "valid-lifetime": 3600,
  "multi-threading": {"enable-multi-threading": $mt, "thread-pool-size": $(nproc), "packet-queue-size": 64},
  "subnet4": [{"id": 1, "subnet": "198.18.0.0/15", "pools": [{"pool": "198.18.1.0 - 198.19.255.250"}],
               "option-data": [{"name": "routers", "data": "198.18.0.1"}]}],
  "loggers": [{"name": "kea-dhcp4", "severity": "WARN", "output_options": [{"output": "$results/kea.log"}]}]
}}
EOF
      KEA_PIDFILE_DIR=$store/peer KEA_LOCKFILE_DIR=$store/peer bg_server "${rns[0]}" "$work/r0.log" kea-dhcp4 -c "$work/kea.json"
      ;;
    dnsmasq)
      bg_server "${rns[0]}" "$work/r0.log" dnsmasq --no-daemon --port=0 --no-ping --bind-interfaces --interface=eth0 \
        --conf-file=/dev/null --pid-file="$store/peer/dnsmasq.pid" --dhcp-authoritative \
        --dhcp-range=198.18.1.0,198.19.255.250,255.254.0.0,1h --dhcp-option=3,198.18.0.1 \
        --dhcp-lease-max=200000 --dhcp-leasefile="$store/peer/dnsmasq.leases" --log-facility=-
      ;;
    dhcpd)
      cat > "$work/dhcpd.conf" <<EOF
authoritative;
default-lease-time 3600;
max-lease-time 3600;
ping-check false;
subnet 198.18.0.0 netmask 255.254.0.0 {
  range 198.18.1.0 198.19.255.250;
  option routers 198.18.0.1;
}
EOF
      touch "$store/peer/dhcpd.leases"
      bg_server "${rns[0]}" "$work/r0.log" dhcpd -f -4 -q -cf "$work/dhcpd.conf" -lf "$store/peer/dhcpd.leases" \
        -pf "$store/peer/dhcpd.pid" eth0
      ;;
  esac
  sleep 1.5
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$work/r0.log" >&2; echo "bench-ha: $1 did not start" >&2; exit 1; }
}

# The replicas' DHCP counters (replies by type, drops by reason), summed over replicas.
counters() {  # N_REPLICAS
  local i
  for ((i = 0; i < $1; i++)); do
    ip netns exec "$cli" curl -sf --max-time 5 "http://${rip[$i]}:8080/metrics" 2>/dev/null || true
  done | awk '/^drover_dhcp_(replies|drops)_total\{/ { s[$1] += $2 } END { for (k in s) if (s[k] > 0) print k, s[k] }' | sort
}

# The kernel's count of datagrams dropped at full UDP receive buffers in namespace NS
# (RcvbufErrors): who lost what perfdhcp counts as drops, the client or the server(s;
# every replica's namespace summed).
udp_drops() {  # NS...: summed
  local ns total=0
  for ns in "$@"; do
    total=$((total + $(ip netns exec "$ns" awk '$1 == "Udp:" && $2 ~ /^[0-9]/ {print $6}' /proc/net/snmp)))
  done
  echo "$total"
}

# CPU time (clock ticks, user + system, all threads) of the servers under test.
server_cpu_ticks() {
  local p total=0
  for p in "${pids[@]}"; do
    [[ -r /proc/$p/stat ]] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}

# One perfdhcp run; prints "<discovers> <offers> <offer-drop%> <requests> <acks> <ack-drop%>".
run_rate() {  # RATE OUTFILE
  timeout $((period + 30)) ip netns exec "$cli" "${client_cpu[@]}" perfdhcp -4 -l 198.18.0.1 -r "$1" -R "$clients" \
    -p "$period" -W 2000000 all > "$2" 2>&1 || true
  awk '/Statistics for: DISCOVER-OFFER/ {s = 1} /Statistics for: REQUEST-ACK/ {s = 2}
       /sent packets:/ {t[s] = $3} /received packets:/ {r[s] = $3}
       /drops ratio:/ {gsub("%", ""); d[s] = $3}
       END {printf "%d %d %s %d %d %s\n", t[1], r[1], (d[1] == "" ? 100 : d[1]), t[2], r[2], (d[2] == "" ? 100 : d[2])}' "$2"
}

csv=$results/results.csv
echo "setup,offered_per_s,period_s,discovers,offers,offer_drop_pct,requests,acks,ack_drop_pct,achieved_per_s,load1_before,within_2_5pct,ack_delay_avg_ms,ack_delay_max_ms,udp_socket_drops_client,udp_socket_drops_server,server_cpu_ms,server_cpu_ms_per_1000_acks" > "$csv"
declare -A capacity done_setup
client_limit=
duplicates=0
for setup in $setups; do capacity[$setup]=0; done_setup[$setup]=0; done
# The setups take turns at each rate, so a change in the machine's load hits them alike; a
# setup's ramp ends after its first rate above 2.5% REQUEST-ACK drops.
for rate in $rates; do
  for setup in $setups; do
    ((done_setup[$setup])) && continue
    n=1
    case $setup in
      ha) start_ha; n=3 ;;
      sqlite) start_sqlite ;;
      *) start_peer "$setup"; n=0 ;;
    esac
    before=$(load1)
    out=$results/$setup-$rate.perfdhcp.txt
    cli_drops0=$(udp_drops "$cli") srv_drops0=$(udp_drops "${rns[@]}")
    cpu0=$(server_cpu_ticks)
    capture_pid=
    if [[ $rate == "$delays_at" ]]; then
      ip netns exec "$cli" "${client_cpu[@]}" tcpdump -i eth0 -s 400 -w "$results/$setup-$rate.pcap" -q \
        udp port 67 > "$results/$setup-$rate.tcpdump.log" 2>&1 &
      capture_pid=$!
      sleep 1
    fi
    read -r discovers offers offer_drop requests acks ack_drop < <(run_rate "$rate" "$out")
    cpu_ms=$(awk -v t="$(($(server_cpu_ticks) - cpu0))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t * 1000 / hz }')
    if [[ -n $capture_pid ]]; then
      kill -INT "$capture_pid" 2>/dev/null || true
      wait "$capture_pid" 2>/dev/null || true
      /usr/bin/python3 scripts/dhcp-delays.py "$results/$setup-$rate.pcap" | sed "s/^/bench-ha: $setup $rate\/s delays (ms) /" |
        tee -a "$results/delays.txt"
    fi
    # Server CPU per 1,000 exchanges answered (ACKs), user + system, every thread.
    cpu_per_k=$(awk -v c="$cpu_ms" -v a="$acks" 'BEGIN { if (a > 0) printf "%.0f", c * 1000 / a; else print "-" }')
    sock="$(($(udp_drops "$cli") - cli_drops0))/$(($(udp_drops "${rns[@]}") - srv_drops0))"
    ((n > 0)) && counters "$n" > "$results/$setup-$rate.counters.txt"
    if [[ $setup == ha ]]; then
      check=$(ip netns exec "$cli" python3 tests/e2e/check_ha_leases.py "http://${mip[0]}:2379" /drover 2>&1 || true)
      echo "$check" > "$results/$setup-$rate.leases.txt"
      d=$(sed -n 's/^duplicates=//p' <<<"$check")
      [[ -n $d ]] || { echo "$check" >&2; echo "bench-ha: could not read etcd's lease keys" >&2; d=1; }
      duplicates=$((duplicates + d))
    fi
    stop_all
    achieved=$(awk -v a="$acks" -v p="$period" 'BEGIN { printf "%.0f", a / p }')
    ok=$(awk -v o="$offer_drop" -v d="$ack_drop" -v a="$acks" \
      'BEGIN { print (a > 0 && o + 0 <= 2.5 && d + 0 <= 2.5 && o !~ /nan/ && d !~ /nan/) ? 1 : 0 }')
    # A rate the client could not send (fewer than 97.5% of rate x period DISCOVERs) and
    # the server kept up with says nothing about the server: the ramp ends there for every
    # setup.
    offered_ok=$(awk -v n="$discovers" -v r="$rate" -v p="$period" 'BEGIN { print (n >= 0.975 * r * p) ? 1 : 0 }')
    cp "$work/r0.log" "$results/$setup-$rate.server.log" 2>/dev/null || true
    delays=$(awk '/Statistics for: REQUEST-ACK/ {s = 1} s && /avg delay:/ {a = $3} s && /max delay:/ {m = $3}
                  END {printf "%s,%s", a, m}' "$out")
    echo "$setup,$rate,$period,$discovers,$offers,$offer_drop,$requests,$acks,$ack_drop,$achieved,$before,$ok,$delays,${sock/\//,},$cpu_ms,$cpu_per_k" >> "$csv"
    printf 'bench-ha: %-7s offered %5s/s: achieved %5s/s, offer drops %6s%%, ack drops %6s%%, ack delay avg,max %s ms, socket drops client/server %s, server CPU %s ms per 1000 (load %s)\n' \
      "$setup" "$rate" "$achieved" "$offer_drop" "$ack_drop" "$delays" "$sock" "$cpu_per_k" "$before"
    if ((ok && !offered_ok)); then  # over 2.5% drops is the server's limit even so
      echo "bench-ha: perfdhcp sent $discovers DISCOVERs, under the $((rate * period)) asked: the client's limit, the ramp ends"
      client_limit=$rate
      break 2
    fi
    if ((ok)); then capacity[$setup]=$rate; else done_setup[$setup]=1; fi
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench-ha: load average after: $load_end"

label() {
  case $1 in
    ha) echo "Drover: 3 replicas, 3-member etcd" ;;
    sqlite) echo "Drover: 1 replica, SQLite" ;;
    kea) echo "Kea $(kea-dhcp4 -v 2>/dev/null | head -1), memfile" ;;
    kea-mt) echo "Kea $(kea-dhcp4 -v 2>/dev/null | head -1), memfile, $(nproc) threads" ;;
    dnsmasq) echo "dnsmasq $(dnsmasq --version | awk 'NR == 1 {print $3}'), no ping" ;;
    dhcpd) echo "ISC dhcpd $(dhcpd --version 2>&1 | awk '{print $NF}' | head -1), no ping" ;;
  esac
}
{
  echo "bench-ha $(date -u +%Y-%m-%dT%H:%M:%SZ): $(nproc) cores, $(uname -r), perfdhcp $(perfdhcp -v 2>&1 | head -1 | awk '{print $2}')," \
    "etcd $(etcd --version | awk 'NR == 1 {print $3}'), $period s per rate, -R $clients, store in $store_parent"
  [[ -n $cpu_budget ]] && echo "each server under test held to $cpu_budget of one CPU (cgroup CPU bandwidth, 10 ms period): capacities and ratios are within that budget"
  ((pin)) && echo "pinned: perfdhcp on CPU 0, the server under test on CPU $(($(nproc) - 1))"
  echo "load average (1 min) before: $load_start, after: $(cut -d" " -f1 <<<"$load_end")$( ((discarded)) && echo "; DISCARDED: the run started above 1.5")"
  echo
  echo "| setup | offered (DORA/s) | achieved (ACK/s) | DISCOVER-OFFER drops | REQUEST-ACK drops | ACK delay avg / max (ms) | UDP socket drops client / server | server CPU ms per 1,000 ACKs |"
  echo "|---|---|---|---|---|---|---|---|"
  tail -n +2 "$csv" | while IFS=, read -r s r _ _ _ od _ _ ad ach _ _ da dm sc ss _ cpk; do
    echo "| $(label "$s") | $r | $ach | $od% | $ad% | $da / $dm | $sc / $ss | $cpk |"
  done
  echo
  for s in $setups; do
    echo "capacity, $(label "$s"): ${capacity[$s]} DORA/s (highest rate with <= 2.5% drops)$( ((done_setup[$s])) || echo ", or more: its ramp ended at the client's limit or the last rate")"
  done
  [[ -n $client_limit ]] && echo "the client could not offer $client_limit DORA/s"
  for s in $setups; do
    [[ $s == sqlite || $s == ha ]] || continue
    for p in $setups; do
      [[ $p == sqlite || $p == ha ]] && continue
      awk -v d="${capacity[$s]}" -v k="${capacity[$p]}" -v a="$(label "$s")" -v b="$(label "$p")" \
        -v open="${done_setup[$s]}" -v popen="${done_setup[$p]}" \
        'BEGIN { if (k > 0) printf "ratio %s / %s: %s%.2f%s\n", a, b, (open == 0 ? "at least " : ""), d / k,
                 (popen == 0 ? " (the peer did not reach its limit either)" : "") }'
    done
  done
  if [[ " $setups " == *" ha "* ]]; then echo "duplicate addresses in etcd's lease keys: $duplicates"; fi
} | tee "$results/summary.txt"

plot=$results/achieved-vs-offered.svg
{
  echo "set terminal svg size 800,450 dynamic font \"sans,12\""
  echo "set output \"$plot\""
  echo "set title \"DHCP: achieved vs offered ($period s per rate)$( ((discarded)) && echo " [discarded: load $load_start at start]")\""
  echo "set xlabel \"offered (DORA/s)\"; set ylabel \"achieved (ACK/s)\"; set key top left; set grid"
  echo "set datafile separator \",\""
  printf 'plot x with lines dashtype 2 lc rgb "gray" title "offered"'
  for s in $setups; do
    printf ', "< grep ^%s, %s" using 2:10 with linespoints lw 2 title "%s"' "$s" "$csv" "$(label "$s")"
  done
  echo
} | gnuplot
echo "bench-ha: results in $results (results.csv, summary.txt, $(basename "$plot"))"
((duplicates == 0)) || { echo "bench-ha: $duplicates duplicate address(es) in etcd's lease keys" >&2; exit 1; }
