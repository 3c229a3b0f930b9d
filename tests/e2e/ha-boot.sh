#!/usr/bin/env bash
# A whole boot on real firmware against three `drover serve` replicas sharing a three-member
# etcd (server.state.backend: etcd), with the replica that acknowledged the machine's first
# DHCP exchange killed (-9) before the agent registers:
#   power on -> DHCP acknowledged by replica X -> X killed -> the fetch from X fails, the
#   firmware resets and PXE-boots again -> another replica owns the machine now and serves
#   it: script, kernel, initrd, agent (its API) -> install -> reboot -> the disk boots and
#   joins, reporting to a surviving replica.
# Then, through a surviving replica's API (`drover nodes`, /v1/nodes): the node is joined
# and its timeline holds every phase of the install and join; etcd's lease keys hold no
# address for two MACs and the machine holds exactly its reserved address. Prints what the
# takeover cost the machine.
#
#   ha-boot.sh DROVER BOOT_ENV_DIR TEST_OS_IMAGE
#
# Layout, one L2 segment (the main namespace's bridge br0, 192.0.2.0/24):
#   main namespace: br0 192.0.2.1, tap0 (the machine), etcd members m0-m2 on 192.0.2.11-13
#     (their data on /dev/shm: no disk fsync in the way of startup)
#   namespaces <main>-r0..r2: replica rN on eth0 at 192.0.2.(2+N), --advertise that address
# The machine is SeaBIOS + iPXE ROM, network first, like whole-boot.sh bios; with
# -boot reboot-timeout=1000 a failed boot resets as rack firmware retries PXE, and since
# QEMU runs with -no-reboot every reset ends QEMU and this script powers it on again.
# Exit 77 (skipped) when the boot environment or a tool (etcd: etcd-server) is missing.
set -euo pipefail
drover=$1 bootenv=$2
E2E_IMAGE=$3
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

e2e_require "$bootenv" "$E2E_IMAGE"
command -v etcd >/dev/null || { echo "skipped: etcd missing (etcd-server)"; exit 77; }

mac=52:54:00:e2:e0:0a
node=e2e-ha
node_ip=192.0.2.10
rip=(192.0.2.2 192.0.2.3 192.0.2.4)
mip=(192.0.2.11 192.0.2.12 192.0.2.13)
rpid=()
killed=""
survivor=""
etcd_dir=""

e2e_init ha
etcd_dir=$(mktemp -d /dev/shm/drover-e2e-ha-etcd.XXXXXX)
E2E_QEMU_ARGS=(-boot reboot-timeout=1000)
config=$E2E_DIR/cluster.yaml
ms() { date +%s%3N; }
t0=$(ms)
since() { awk -v a="$(ms)" -v b="${1:-$t0}" 'BEGIN { printf "%.1f", (a - b) / 1000 }'; }

show_failure() {
  local i
  for i in 0 1 2; do
    e2e_log "replica r$i log (last 25 lines):"
    tail -n 25 "$E2E_DIR/r$i.log" >&2 2>/dev/null || true
  done
  [[ -n $survivor ]] && e2e_api "/v1/nodes/$node/events" >&2 2>/dev/null || true
}
trap 'rc=$?; ((rc)) && show_failure; ((${#E2E_PIDS[@]})) && e2e_kill "${E2E_PIDS[@]}"; E2E_PIDS=(); rm -rf "$etcd_dir"; e2e_cleanup $rc' EXIT

# The operator API of replica N (its own CA copy and token: both are the shared ones); a
# call that times out on the loaded machine is tried again, twice.
ha_api() {
  e2e_ns curl -sf --max-time 10 --retry 2 --retry-delay 1 --retry-all-errors --cacert "$E2E_DIR/r$1/tls/ca.crt" \
    -H "Authorization: Bearer $(cat "$E2E_DIR/r$1/operator.token")" "https://${rip[$1]}:8443$2"
}
# lib.sh's node helpers (state, timeline, runtime check) ask a surviving replica.
e2e_api() { ha_api "$survivor" "$1"; }

# plug NAME IP: a namespace <main>-NAME whose eth0 is a port of br0, holding IP.
plug() {
  local ns=$E2E_NS-$1 outer=h$1$$
  ip netns add "$ns"
  E2E_EXTRA_NS+=("$ns")
  ip link add "$outer" type veth peer name "i$outer"
  ip link set "$outer" netns "$E2E_NS"
  ip link set "i$outer" netns "$ns"
  ip -n "$ns" link set "i$outer" name eth0
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
  ip -n "$ns" addr add "$2/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  e2e_ns ip link set "$outer" master br0 up
}

# etcd: three members, started together.
cluster="" endpoints=""
for i in 0 1 2; do
  e2e_ns ip addr add "${mip[$i]}/24" dev br0
  cluster+="${cluster:+,}m$i=http://${mip[$i]}:2380"
  endpoints+="${endpoints:+, }\"http://${mip[$i]}:2379\""
done
for i in 0 1 2; do
  e2e_bg "$E2E_DIR/etcd$i.log" etcd --name "m$i" --data-dir "$etcd_dir/m$i" \
    --listen-client-urls "http://${mip[$i]}:2379" --advertise-client-urls "http://${mip[$i]}:2379" \
    --listen-peer-urls "http://${mip[$i]}:2380" --initial-advertise-peer-urls "http://${mip[$i]}:2380" \
    --initial-cluster "$cluster" --initial-cluster-token "drover-e2e-$$" --logger zap --log-level warn
done
for i in 0 1 2; do plug "r$i" "${rip[$i]}"; done
healthy() { e2e_ns curl -sf --max-time 1 "http://${mip[$1]}:2379/health" 2>/dev/null | grep -q '"health":"true"'; }
for _ in $(seq 300); do healthy 0 && healthy 1 && healthy 2 && break; sleep 0.1; done
healthy 0 && healthy 1 && healthy 2 || { cat "$E2E_DIR/etcd0.log" >&2; e2e_die "etcd is not healthy"; }
e2e_log "etcd: 3 members healthy after $(since)s"

# The replicas: one declaration, three processes started together.
e2e_config "$config" "$bootenv"
sed -i -e 's/interfaces: \[br0\]/interfaces: [eth0]/' \
  -e "s|state: { backend: sqlite, path: \([^ ]*\) }|state: { backend: etcd, endpoints: [$endpoints], prefix: /drover, replica_ttl: 2s, path: \1 }|" \
  "$config"
grep -q 'backend: etcd' "$config" || e2e_die "could not make the declaration use etcd"
cat >> "$config" <<YAML
networks:
  - name: lab
    subnet: 192.0.2.0/24
    pool: 192.0.2.100-192.0.2.199
    gateway: 192.0.2.1
    lease: 1h
defaults:
  unknown: ignore
nodes:
  - name: $node
    mac: $mac
    ip: $node_ip
    profile: node
YAML
"$drover" validate "$config"
t_replicas=$(ms)
for i in 0 1 2; do
  e2e_bg "$E2E_DIR/r$i.log" ip netns exec "$E2E_NS-r$i" "$drover" --log-level info serve \
    --config "$config" --state-dir "$E2E_DIR/r$i" --replica-id "r$i" --advertise "${rip[$i]}"
  rpid[i]=$E2E_LAST_PID
done
live() {  # replicas that replica N sees alive (its /metrics)
  e2e_ns curl -sf --max-time 2 "http://${rip[$1]}:8080/metrics" 2>/dev/null |
    awk '$1 == "drover_ha_replicas_live" { print $2 + 0; f = 1 } END { if (!f) print 0 }'
}
for _ in $(seq 300); do
  [[ $(live 0) == 3 && $(live 1) == 3 && $(live 2) == 3 ]] && break
  sleep 0.1
done
for i in 0 1 2; do
  [[ $(live "$i") == 3 ]] || { cat "$E2E_DIR/r$i.log" >&2; e2e_die "replica r$i sees $(live "$i") live replicas, want 3"; }
done
e2e_log "replicas: r0 r1 r2 serving, each sees 3 live, $(since "$t_replicas")s after their start ($(since)s in all)"

# Power on; kill whoever acknowledges the machine's first DHCP exchange, at once.
e2e_tap tap0
disk=$(e2e_disk "$node" 512M)
t_on=$(ms)
e2e_log "power on #1 (bios): blank disk"
e2e_qemu "$node" bios "$mac" tap0 "$disk"
qpid=$E2E_LAST_PID
# A poller reads the three logs every 5 ms and kills (-9) the first whose log shows the
# acknowledgement (iPXE fetches its script about 0.1 s after it: when the kill comes later,
# the kernel fetch fails instead, and the script's retry pause is part of the cost).
killed_at=$(python3 - "$qpid" "$mac" "${rpid[@]}" "$E2E_DIR"/r{0,1,2}.log <<'PY'
import os, re, signal, sys, time
qemu, mac = int(sys.argv[1]), sys.argv[2].lower()
pids, logs = [int(p) for p in sys.argv[3:6]], sys.argv[6:9]
ack = re.compile(r"DHCP_ACK mac=" + re.escape(mac), re.IGNORECASE)
pos = [0, 0, 0]
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    for i, log in enumerate(logs):
        with open(log, errors="replace") as f:
            f.seek(pos[i])
            text = f.read()
        cut = text.rfind("\n") + 1
        pos[i] += len(text[:cut].encode())
        if ack.search(text[:cut]):
            os.kill(pids[i], signal.SIGKILL)
            print(i, int(time.time() * 1000))
            sys.exit(0)
    try:
        os.kill(qemu, 0)
    except ProcessLookupError:
        sys.exit("the machine stopped before its first DHCP acknowledgement")
    time.sleep(0.005)
sys.exit("no replica acknowledged " + mac)
PY
)
[[ -n $killed_at ]] || e2e_die "no replica was killed"
read -r killed t_kill <<<"$killed_at"
{ wait "${rpid[$killed]}"; } 2>/dev/null || true
survivor=$(((killed + 1) % 3))
other=$(((killed + 2) % 3))
served=$(grep -c "SCRIPT_SERVED node=$node " "$E2E_DIR/r$killed.log" || true)
e2e_log "r$killed acknowledged the machine's first DHCP: killed (-9) $(awk -v a="$t_kill" -v b="$t_on" 'BEGIN { printf "%.1f", (a - b) / 1000 }')s after power-on," \
  "$( ((served)) && echo "after it had served the machine's script" || echo "before it served the machine's script")"

# The firmware resets after each failed boot (the fetch from the dead replica); power it on
# again until the install is done (the agent reboots the machine: QEMU exits, -no-reboot).
boots=1
while :; do
  e2e_wait_exit "$qpid" "$node" 900
  cp "$E2E_DIR/$node.console" "$E2E_DIR/$node.boot$boots.console"
  state=$(e2e_node_state "$node")
  [[ $state == installed ]] && break
  why=$(grep -aoE 'Nothing to boot|Connection (refused|reset)|Drover: could not [a-z ]+|No bootable device' "$E2E_DIR/$node.console" |
    sort -u | paste -sd ';' || true)
  ((boots < 4)) || { tail -n 40 "$E2E_DIR/$node.console" >&2; e2e_die "node is '$state' after $boots power-ons, want installed"; }
  boots=$((boots + 1))
  e2e_log "the boot failed (${why:-QEMU exited}; node '$state'): power on #$boots, $(since "$t_kill")s after the kill"
  e2e_qemu "$node" bios "$mac" tap0 "$disk"
  qpid=$E2E_LAST_PID
done
e2e_log "installed after $(since "$t_on")s from power-on ($boots power-ons)"

e2e_log "power on #$((boots + 1)): boots the disk and joins"
e2e_qemu "$node" bios "$mac" tap0 "$disk"
qpid=$E2E_LAST_PID
e2e_wait_console "$node" 'drover-test-os: join (done|failed)' 600
e2e_wait_exit "$qpid" "$node"
grep -aq 'drover-test-os: join done' "$E2E_DIR/$node.console" || { tail -n 40 "$E2E_DIR/$node.console" >&2; e2e_die "join failed"; }
e2e_log "joined after $(since "$t_on")s from the first power-on"

# Through each surviving replica's API: the same record, joined, and a whole timeline.
api_replica=$survivor
for s in "$survivor" "$other"; do
  survivor=$s
  e2e_wait_state "$node" joined 60
  e2e_check_runtime "$node"
  e2e_api "/v1/nodes/$node/events" | python3 -c '
import json, sys
phases = [e["phase"] for e in json.load(sys.stdin)]
want = ["registered", "install_started", "image_written", "installed", "runtime_started", "joined"]
at, missing = 0, []
for w in want:
    if w in phases[at:]:
        at = phases.index(w, at) + 1
    else:
        missing.append(w)
missing += [p for p in ("dhcp_ack", "script_served") if p not in phases]
sys.exit("timeline lacks " + " ".join(missing) + "; has: " + " ".join(phases) if missing else 0)' ||
    e2e_die "r$s: the timeline of $node is not complete"
done
table=$(e2e_ns "$drover" nodes --api "https://${rip[$survivor]}:8443" --state-dir "$E2E_DIR/r$survivor")
echo "$table" >&2
awk -v n="$node" '$1 == n && $2 == "joined"' <<<"$table" | grep -q . ||
  e2e_die "drover nodes on r$survivor does not show $node joined"
survivor=$api_replica
e2e_timeline "$node"

# etcd's lease keys: no address held by two MACs; the machine holds its reserved address.
e2e_ns python3 "$here/check_ha_leases.py" "http://${mip[0]}:2379" /drover --mac "$mac" --ip "$node_ip" >&2 ||
  e2e_die "etcd's lease keys are wrong"

# What the takeover cost: when the survivors saw the replica gone (their HA_REPLICAS log
# line) and when one of them acknowledged the machine (its timeline).
seen=$(grep -h 'HA_REPLICAS live=' "$E2E_DIR/r$survivor.log" "$E2E_DIR/r$other.log" |
  sed -n 's/.*HA_REPLICAS live=\([^ ]*\) at_ms=\([0-9]*\).*/\1 \2/p' |
  awk -v k="r$killed" -v t="$t_kill" '$2 >= t && index("," $1 ",", "," k ",") == 0 { print $2 - t }' | sort -n | head -1)
acked=$(e2e_api "/v1/nodes/$node/events" | python3 -c '
import json, sys
t = int(sys.argv[1])
acks = [e["ts"] for e in json.load(sys.stdin) if e["phase"] == "dhcp_ack" and e["ts"] >= t]
print(min(acks) - t if acks else "")' "$t_kill")
e2e_log "takeover: r$killed killed $(awk -v a="$t_kill" -v b="$t_on" 'BEGIN { printf "%.1f", (a - b) / 1000 }')s after power-on;" \
  "the others saw it gone after $(awk -v v="${seen:-}" 'BEGIN { print v == "" ? "?" : sprintf("%.1f", v / 1000) }')s" \
  "(replica_ttl 2s); r$survivor/r$other acknowledged the machine $(awk -v v="${acked:-}" 'BEGIN { print v == "" ? "?" : sprintf("%.1f", v / 1000) }')s after the kill;" \
  "$((boots - 1)) extra power-on(s) for the firmware"
e2e_log "PASS: HA whole boot in $(since)s (etcd + replicas $(awk -v a="$t_on" -v b="$t0" 'BEGIN { printf "%.1f", (a - b) / 1000 }')s, machine $(since "$t_on")s)"
