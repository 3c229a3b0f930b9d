#!/usr/bin/env bash
# Boot storm: the same `drover sim` run against `drover serve` and against dnsmasq (DHCP +
# TFTP) + nginx (HTTP), on this machine, in one run, for 100 and 1,000 machines powered on
# together. Not a test: it measures and prints a markdown table, the ratios, and a plot of
# boots completed over time (docs/benchmarks-storm.svg).
#
#   scripts/bench-storm.sh [--build DIR] [--clients "100 1000"] [--kernel-mib 8] [--initrd-mib 32]
#                          [--spread 2s] [--runs 1] [--plot FILE] [--http-only] [--raise-rmem]
#
# --raise-rmem: the kernel's default UDP receive buffer raised for the run (bench-netns.sh),
# so dnsmasq's socket (which takes the default) does not overflow in an all-at-once storm.
#
# --http-only: the HTTP side alone, as a floor for the storm. Every machine starts at the
# stack's boot script URL (`drover sim --script-url`): no DHCP, no TFTP, no lease binding;
# the script, kernel and initrd of every machine. What is left of the storm is the bulk
# transfer, so this shows how close each stack's storm comes to it.
#
# Layout: a server namespace (192.0.2.1/24) and a client namespace (192.0.2.2/24) joined by
# a veth pair. `drover sim` runs in the client namespace as a DHCP relay (giaddr 198.18.0.1,
# RFC 2544 benchmarking range) and binds each machine's TFTP and HTTP sockets to its leased
# address (a local route for 198.18.0.0/21 in the client namespace); the server namespace
# routes that range back through the veth. Both stacks hand out 198.18.0.10-198.18.7.250.
# Every machine: DORA with PXE options, TFTP of Debian's undionly.kpxe (tsize probe, then
# blksize 1468, windowsize 4 where the server grants it), DORA as iPXE, the boot script,
# kernel and initrd over one keep-alive HTTP connection.
#
# Drover: `drover serve` (DHCP, TFTP, HTTP; SQLite state, every lease durable; unknown
# machines get the install script). Reference: dnsmasq with --no-ping, --dhcp-lease-max and
# --tftp-max raised, --dhcp-authoritative, iPXE clients (user class "iPXE") sent to nginx;
# nginx (Debian's package, unpacked, not installed) with worker_processes auto, sendfile,
# keep-alive, serving a static script and the same kernel/initrd bytes. The stacks take
# turns on the same namespaces (they share port 67); each run starts from empty leases.
#
# --stacks "ha ha1": Drover in HA instead. `ha` is three `drover serve` replicas on a
# three-member etcd (server.state.backend: etcd), `ha1` one replica on SQLite in the same
# place, for the comparison: a bridge in its own namespace on 203.0.113.0/24, the sim on it
# at .2 (a second veth from the client namespace), replicas at .11-.13 each in its own
# namespace, etcd members at .21-.23 on the bridge. The sim relays every DHCP message to
# every replica (`drover sim --server A,B,C`); the client's owner answers.
# Needs root, dnsmasq and gnuplot (scripts/packages/storm.txt), Debian's ipxe, etcd for ha.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-netns.sh

build=build
clients="100 1000"
kernel_mib=8
initrd_mib=32
spread=2s
runs=1
plot=
stacks="drover reference"
http_only=0
raise_rmem=0
while (($#)); do
  case "$1" in
    --build) build=$2; shift ;;
    --clients) clients=$2; shift ;;
    --kernel-mib) kernel_mib=$2; shift ;;
    --initrd-mib) initrd_mib=$2; shift ;;
    --spread) spread=$2; shift ;;
    --runs) runs=$2; shift ;;
    --plot) plot=$2; shift ;;
    --stacks) stacks=$2; shift ;;
    --http-only) http_only=1 ;;
    --raise-rmem) raise_rmem=1 ;;
    *) echo "usage: $0 [--build DIR] [--clients LIST] [--kernel-mib N] [--initrd-mib N] [--spread D] [--runs N] [--plot FILE] [--stacks \"drover reference\"] [--http-only] [--raise-rmem]" >&2; exit 2 ;;
  esac
  shift
done

drover=$(realpath "$build/bin/drover")
for tool in "$drover" dnsmasq gnuplot curl; do
  command -v "$tool" >/dev/null || { echo "bench-storm: $tool not found (build drover, run scripts/setup.sh)" >&2; exit 2; }
done
[[ -f /usr/lib/ipxe/undionly.kpxe ]] || { echo "bench-storm: needs Debian's ipxe package" >&2; exit 2; }
# The plot in the docs is of whole boots; an HTTP-only run plots only when asked to.
[[ -z $plot && $http_only == 0 ]] && plot=docs/benchmarks-storm.svg
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # sockets: one per TFTP transfer and HTTP connection

tag=$$
srv=bsts$tag cli=bstc$tag sif=bsts$tag cif=bstc$tag
work=$(mktemp -d /dev/shm/drover-bench-storm.XXXXXX)
chmod 755 "$work"
server_pids=()
hsw=bsth$tag
hns=(bsth0$tag bsth1$tag bsth2$tag)
hip=(203.0.113.11 203.0.113.12 203.0.113.13)
hmip=(203.0.113.21 203.0.113.22 203.0.113.23)

stop_servers() {  # by pid, the ones this script started
  local p
  for p in "${server_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${server_pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  server_pids=()
}
cleanup() {
  bench_rmem_restore
  stop_servers
  bench_netns_remove "$srv" "$cli" "${hns[@]}" "$hsw"
  rm -rf "$work"
}
trap cleanup EXIT
((raise_rmem)) && bench_rmem_raise "bench-storm: "

bench_netns_pair "$srv" "$cli" "$sif" "$cif"
ip -n "$cli" route add local 198.18.0.0/21 dev lo
ip -n "$srv" route add 198.18.0.0/21 via 192.0.2.2

# The same bytes for both stacks.
mkdir -p "$work/images" "$work/tftp" "$work/www/assets/boot-env" "$work/templates" "$work/nginx/logs" "$work/nginx/tmp"
head -c $((kernel_mib * 1024 * 1024)) /dev/urandom > "$work/images/vmlinuz"
head -c $((initrd_mib * 1024 * 1024)) /dev/urandom > "$work/images/initrd.img"
head -c 4096 /dev/zero > "$work/images/os.raw"
ln "$work/images/vmlinuz" "$work/www/assets/boot-env/kernel"
ln "$work/images/initrd.img" "$work/www/assets/boot-env/initrd"
cp /usr/lib/ipxe/undionly.kpxe "$work/tftp/"
printf '#cloud-config\nhostname: {{node.name}}\n' > "$work/templates/server.yaml.mustache"
cat > "$work/www/boot.ipxe" <<EOF
#!ipxe
kernel http://192.0.2.1:8081/assets/boot-env/kernel drover.mode=install console=ttyS0 || goto failed
initrd --name initrd.img http://192.0.2.1:8081/assets/boot-env/initrd || goto failed
boot || goto failed
:failed
sleep 5
chain --autofree --replace http://192.0.2.1:8081/boot.ipxe
EOF

cat > "$work/cluster.yaml" <<EOF
server:
  advertise: 192.0.2.1
  interfaces: [$sif]
  tftp: { listen: "192.0.2.1:69", root: $work/tftp-drover }
  http: { listen: "192.0.2.1:8080" }
  api: { listen: "127.0.0.1:0", tls: auto }
  state: { backend: sqlite, path: $work/state/state.db }
networks:
  - name: storm
    subnet: 198.18.0.0/21
    pool: 198.18.0.10-198.18.7.250
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
    cloud_config: templates/server.yaml.mustache
defaults:
  profile: server
  unknown: install
nodes:
  - name: node-0
    mac: 02:00:00:00:00:01
    ip: 198.18.0.5
EOF
mkdir -p "$work/tftp-drover"

# The HA segment (only for the ha and ha1 stacks).
if [[ " $stacks " == *" ha"* ]]; then
  command -v etcd >/dev/null || { echo "bench-storm: etcd not found (scripts/packages/test.txt)" >&2; exit 2; }
  ip netns add "$hsw"
  ip -n "$hsw" link set lo up
  ip -n "$hsw" link add br0 type bridge
  ip -n "$hsw" link set br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0
  for a in "${hmip[@]}"; do ip -n "$hsw" addr add "$a/24" dev br0; done
  ip -n "$hsw" link set br0 up
  ha_plug() {  # NS IP IFNAME-IN-NS
    local ns=$1 outer=v$1
    ip link add "$outer" type veth peer name "i$outer"
    ip link set "$outer" netns "$hsw"
    ip link set "i$outer" netns "$ns"
    ip -n "$ns" link set "i$outer" name "$3"
    ip -n "$ns" addr add "$2/24" dev "$3"
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "$3" up
    ip -n "$hsw" link set "$outer" master br0 up
  }
  ha_plug "$cli" 203.0.113.2 ha0
  for i in 0 1 2; do
    ip netns add "${hns[$i]}"
    ha_plug "${hns[$i]}" "${hip[$i]}" eth0
    ip -n "${hns[$i]}" route add 198.18.0.0/21 via 203.0.113.2
  done
  ip -n "$hsw" route add 198.18.0.0/21 via 203.0.113.2
  endpoints=""
  for a in "${hmip[@]}"; do endpoints+="${endpoints:+, }\"http://$a:2379\""; done
  ha_declaration() {  # STATE
    sed -e "s|^  advertise: .*|  advertise: ${hip[0]}|" -e "s|^  interfaces: .*|  interfaces: [eth0]|" \
      -e 's|"192.0.2.1:69"|"0.0.0.0:69"|' -e 's|"192.0.2.1:8080"|"0.0.0.0:8080"|' \
      -e "s|^  state: .*|  state: $1|" "$work/cluster.yaml"
  }
  ha_declaration "{ backend: etcd, endpoints: [$endpoints], prefix: /drover, replica_ttl: 3s, path: $work/state/state.db }" > "$work/ha.yaml"
  ha_declaration "{ backend: sqlite, path: $work/state/r0/state.db }" > "$work/ha1.yaml"
  "$drover" validate "$work/ha.yaml" > /dev/null
  "$drover" validate "$work/ha1.yaml" > /dev/null
fi

apt_nginx() {
  (cd "$work" && apt-get download -q nginx >/dev/null 2>&1) || { echo "bench-storm: apt-get download nginx failed" >&2; exit 2; }
  dpkg-deb -x "$work"/nginx_*.deb "$work/nginx-pkg"
}
apt_nginx
nginx_bin=$work/nginx-pkg/usr/sbin/nginx
cat > "$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
error_log $work/nginx/logs/error.log warn;
pid $work/nginx/nginx.pid;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
http {
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  keepalive_timeout 75s;
  client_body_temp_path $work/nginx/tmp;
  proxy_temp_path $work/nginx/tmp;
  fastcgi_temp_path $work/nginx/tmp;
  uwsgi_temp_path $work/nginx/tmp;
  scgi_temp_path $work/nginx/tmp;
  server {
    listen 192.0.2.1:8081 backlog=4096;
    location / { root $work/www; }
  }
}
EOF

wait_http() {  # url
  for _ in $(seq 100); do
    ip netns exec "$srv" curl -s -o /dev/null --max-time 1 "$1" && return
    sleep 0.1
  done
  echo "bench-storm: nothing answers $1" >&2; exit 1
}

start_drover() {
  rm -rf "$work/state"
  ip netns exec "$srv" "$drover" --log-level warn serve --config "$work/cluster.yaml" > "$work/drover.log" 2>&1 &
  server_pids+=($!)
  wait_http http://192.0.2.1:8080/healthz
}

ha_healthy() {  # replica-index url-path
  ip netns exec "$cli" curl -sf --max-time 1 -o /dev/null "http://${hip[$1]}:8080$2"
}

start_ha() {  # 3 (etcd + three replicas) or 1 (one replica on SQLite)
  local i cluster="" token="bench-storm-$tag-$RANDOM" deadline
  rm -rf "$work/state" "$work/etcd"
  mkdir -p "$work/state" "$work/etcd"
  if (($1 == 3)); then
    for i in 0 1 2; do cluster+="${cluster:+,}m$i=http://${hmip[$i]}:2380"; done
    for i in 0 1 2; do
      ip netns exec "$hsw" etcd --name "m$i" --data-dir "$work/etcd/m$i" \
        --listen-client-urls "http://${hmip[$i]}:2379" --advertise-client-urls "http://${hmip[$i]}:2379" \
        --listen-peer-urls "http://${hmip[$i]}:2380" --initial-advertise-peer-urls "http://${hmip[$i]}:2380" \
        --initial-cluster "$cluster" --initial-cluster-token "$token" --logger zap --log-level warn \
        > "$work/etcd$i.log" 2>&1 &
      server_pids+=($!)
    done
    deadline=$((SECONDS + 30))
    until ip netns exec "$cli" curl -sf --max-time 1 "http://${hmip[0]}:2379/health" 2>/dev/null | grep -q '"health":"true"'; do
      ((SECONDS < deadline)) || { cat "$work/etcd0.log" >&2; echo "bench-storm: etcd is not healthy" >&2; exit 1; }
      sleep 0.1
    done
    for i in 0 1 2; do
      ip netns exec "${hns[$i]}" "$drover" --log-level warn serve --config "$work/ha.yaml" \
        --state-dir "$work/state/r$i" --replica-id "r$i" --advertise "${hip[$i]}" > "$work/drover-r$i.log" 2>&1 &
      server_pids+=($!)
    done
  else
    ip netns exec "${hns[0]}" "$drover" --log-level warn serve --config "$work/ha1.yaml" \
      --state-dir "$work/state/r0" > "$work/drover-r0.log" 2>&1 &
    server_pids+=($!)
  fi
  deadline=$((SECONDS + 30))
  for ((i = 0; i < $1; i++)); do
    until ha_healthy "$i" /healthz; do
      ((SECONDS < deadline)) || { tail -n 20 "$work"/drover-r*.log >&2; echo "bench-storm: replica r$i did not start" >&2; exit 1; }
      sleep 0.1
    done
  done
  # Replicas answer only once each sees all the others alive.
  if (($1 == 3)); then
    for i in 0 1 2; do
      until [[ $(ip netns exec "$cli" curl -sf --max-time 2 "http://${hip[$i]}:8080/metrics" |
        awk '$1 == "drover_ha_replicas_live" { print $2 + 0 }') == 3 ]]; do
        ((SECONDS < deadline)) || { echo "bench-storm: the replicas did not all see each other" >&2; exit 1; }
        sleep 0.1
      done
    done
  fi
}

start_reference() {
  rm -f "$work/dnsmasq.leases"
  ip netns exec "$srv" dnsmasq --keep-in-foreground --conf-file=/dev/null --port=0 --user=root \
    --pid-file="$work/dnsmasq.pid" --log-facility="$work/dnsmasq.log" \
    --interface="$sif" --bind-interfaces --dhcp-authoritative --no-ping \
    --dhcp-range=198.18.0.10,198.18.7.250,255.255.248.0,1h --dhcp-lease-max=10000 \
    --dhcp-leasefile="$work/dnsmasq.leases" \
    --dhcp-userclass=set:ipxe,iPXE \
    --dhcp-boot=tag:!ipxe,undionly.kpxe,,192.0.2.1 \
    --dhcp-boot=tag:ipxe,http://192.0.2.1:8081/boot.ipxe \
    --enable-tftp --tftp-root="$work/tftp" --tftp-max=10000 &
  server_pids+=($!)
  ip netns exec "$srv" "$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/logs/error.log" &
  server_pids+=($!)
  wait_http http://192.0.2.1:8081/boot.ipxe
  for _ in $(seq 50); do
    ip netns exec "$srv" ss -Hlun "sport = :67" | grep -q . && return
    sleep 0.1
  done
  echo "bench-storm: dnsmasq did not start:" >&2; cat "$work/dnsmasq.log" >&2; exit 1
}

tree_hwm_mib() {  # peak resident MiB summed over the servers and their children
  local p k v _ total=0 pids=()
  for p in "${server_pids[@]}"; do pids+=("$p" $(ps -o pid= --ppid "$p" 2>/dev/null || true)); done
  for p in "${pids[@]}"; do
    { while read -r k v _; do [[ $k == VmHWM: ]] && total=$((total + v)); done; } 2>/dev/null < "/proc/$p/status" || true
  done
  awk -v t="$total" 'BEGIN { printf "%.0f", t / 1024 }'
}

udp_rcvbuf_errors() {  # namespace -> UDP datagrams the kernel dropped for a full socket buffer
  ip netns exec "$1" awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' /proc/net/snmp
}

tcp_listen_drops() {  # namespace -> connection attempts dropped at a full accept queue
  ip netns exec "$1" awk '/^TcpExt:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["ListenDrops"] }' /proc/net/netstat
}

declare -A R
storm() {  # stack n run -> fills R[stack.n.*]
  local stack=$1 n=$2 run=$3 out=$work/$1-$2-$3
  case $stack in
    drover) start_drover ;;
    ha) start_ha 3 ;;
    ha1) start_ha 1 ;;
    *) start_reference ;;
  esac
  echo "bench-storm: $stack, $n machines, run $run" >&2
  local srv_drops0 cli_drops0
  srv_drops0=$(udp_rcvbuf_errors "$srv")
  cli_drops0=$(udp_rcvbuf_errors "$cli")
  local listen0
  listen0=$(tcp_listen_drops "$srv")
  local boot=(--server 192.0.2.1 --relay 198.18.0.1 --bind-leased)
  case $stack in
    ha) boot=(--server "$(IFS=,; echo "${hip[*]}")" --relay 198.18.0.1 --bind-leased) ;;
    ha1) boot=(--server "${hip[0]}" --relay 198.18.0.1 --bind-leased) ;;
  esac
  if ((http_only)) && [[ $stack == ha* ]]; then
    echo "bench-storm: --http-only is for the drover and reference stacks" >&2; exit 2
  fi
  if ((http_only)); then
    boot=(--script-url "http://192.0.2.1:$([[ $stack == drover ]] && echo 8080 || echo 8081)/boot.ipxe")
  fi
  timeout 1800 ip netns exec "$cli" "$drover" sim "${boot[@]}" --clients "$n" \
    --concurrency "$n" --spread "$spread" --deadline 10m \
    --json "$out.json" --timeline "$out.timeline" > "$out.txt" 2> "$out.progress" || true
  R[$stack.$n.rss]=$(tree_hwm_mib)
  R[$stack.$n.udpdrops]="$(($(udp_rcvbuf_errors "$srv") - srv_drops0)) / $(($(udp_rcvbuf_errors "$cli") - cli_drops0))"
  R[$stack.$n.listendrops]=$(($(tcp_listen_drops "$srv") - listen0))
  echo "bench-storm: $stack: TCP connections dropped at a full accept queue: ${R[$stack.$n.listendrops]}" >&2
  if [[ $stack == drover ]]; then  # the server's own account of drops and outcomes
    ip netns exec "$srv" curl -s --max-time 5 http://192.0.2.1:8080/metrics |
      grep -E '^drover_(dhcp_drops|dhcp_replies|tftp_transfers|tftp_drops|http_drops|http_requests)_total' |
      grep -v ' 0$' > "$out.metrics" || true
    echo "--- drover metrics" >&2; cat "$out.metrics" >&2
  fi
  stop_servers
  cat "$out.txt" >&2
  [[ -f $out.json ]] || { echo "bench-storm: sim failed:" >&2; tail -5 "$out.progress" >&2; R[$stack.$n.ok]=0; return; }
  read -r R[$stack.$n.ok] R[$stack.$n.storm] R[$stack.$n.p50] R[$stack.$n.p99] R[$stack.$n.dhcp99] \
    R[$stack.$n.tftp99] R[$stack.$n.http99] R[$stack.$n.retx] < <(python3 - "$out.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
p = j["phases"]
http99 = max(p[k]["p99_ms"] for k in ("script", "kernel", "initrd"))
s = lambda ms: f"{ms / 1000:.3f}"
print(j["completed"], f'{j["storm_seconds"]:.2f}', s(p["boot"]["p50_ms"]), s(p["boot"]["p99_ms"]),
      s(max(p["dhcp"]["p99_ms"], p["ipxe_dhcp"]["p99_ms"])), s(p["tftp"]["p99_ms"]), s(http99),
      j["retransmits"]["dhcp"] + j["retransmits"]["tftp"])
PY
)
  if ((R[$stack.$n.ok] < n)); then  # what the servers said about the failures
    for log in "$work/drover.log" "$work/dnsmasq.log" "$work/nginx/logs/error.log"; do
      [[ -f $log ]] && { echo "--- $log" >&2; tail -5 "$log" >&2; }
    done
  fi
  R[$stack.$n.failures]=$(python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); f=j["failures"]; r=j["retry_reasons"]; print(", ".join([f"{k} {v}" for k,v in f.items()] + [f"retried {k} {v}" for k,v in r.items()]) or "none")' "$out.json")
}

for n in $clients; do
  for run in $(seq "$runs"); do
    for s in $stacks; do storm "$s" "$n" "$run"; done
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0 && a > 0) printf "%.2fx", a / b; else print "n/a" }'; }

echo "Machine: $(nproc) cores, $(uname -r); $(date -u +%Y-%m-%d); kernel ${kernel_mib} MiB + initrd ${initrd_mib} MiB;" \
  "loader undionly.kpxe $(stat -c %s /usr/lib/ipxe/undionly.kpxe) bytes; power-on spread $spread;" \
  "$( ((http_only)) && echo "HTTP only (no DHCP, no TFTP);")" \
  "dnsmasq $(dnsmasq --version | head -1 | awk '{print $3}'), nginx $("$nginx_bin" -v 2>&1 | sed 's|.*nginx/||')"
echo
echo "| machines | stack | booted | storm (s) | boot p50 (s) | boot p99 (s) | DHCP p99 (s) | TFTP p99 (s) | HTTP p99 (s) | retransmits | UDP socket drops server / sim | peak RSS (MiB) | failures |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for n in $clients; do
  for s in $stacks; do
    case $s in
      drover) label="Drover" ;;
      ha) label="Drover, 3 replicas on etcd" ;;
      ha1) label="Drover, 1 replica on SQLite (same segment)" ;;
      *) label="dnsmasq + nginx" ;;
    esac
    echo "| $n | $label | ${R[$s.$n.ok]}/$n | ${R[$s.$n.storm]:-} | ${R[$s.$n.p50]:-} | ${R[$s.$n.p99]:-} | ${R[$s.$n.dhcp99]:-} | ${R[$s.$n.tftp99]:-} | ${R[$s.$n.http99]:-} | ${R[$s.$n.retx]:-} | ${R[$s.$n.udpdrops]:-} | ${R[$s.$n.rss]:-} | ${R[$s.$n.failures]:-} |"
  done
done
echo
for n in $clients; do
  [[ " $stacks " == *" reference "* && " $stacks " == *" drover "* ]] &&
    echo "$n machines: storm time Drover / (dnsmasq + nginx) = $(ratio "${R[drover.$n.storm]:-0}" "${R[reference.$n.storm]:-0}")"
  [[ " $stacks " == *" ha "* && " $stacks " == *" ha1 "* ]] &&
    echo "$n machines: storm time 3 replicas on etcd / 1 replica on SQLite = $(ratio "${R[ha.$n.storm]:-0}" "${R[ha1.$n.storm]:-0}")"
done

# Boots completed over time, the largest storm, both stacks.
big=$(tr ' ' '\n' <<<"$clients" | sort -n | tail -1)
if [[ -n $plot && -f $work/drover-$big-1.timeline && " $stacks " == *" reference "* && -f $work/reference-$big-1.timeline ]]; then
  gnuplot <<EOF
set terminal svg size 800,450 dynamic font "sans,12"
set output "$plot"
set title "Boot storm: $big machines powered on within $spread (kernel ${kernel_mib} MiB + initrd ${initrd_mib} MiB)"
set xlabel "seconds since power-on"
set ylabel "boots completed"
set key bottom right
set grid
plot "$work/drover-$big-1.timeline" using 1:2 with steps lw 2 title "Drover (drover serve)", \
     "$work/reference-$big-1.timeline" using 1:2 with steps lw 2 title "dnsmasq + nginx"
EOF
  echo "plot: $plot"
fi
