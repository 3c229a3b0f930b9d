#!/usr/bin/env bash
# A blank machine on real firmware boots from Drover, installs, boots its disk and joins:
#   power on -> DHCP -> TFTP (iPXE) -> per-node script -> kernel + initrd over HTTP ->
#   drover-agent installs the test OS -> reboot -> PXE again -> the script boots the local
#   disk -> the installed OS's agent reports joined. Then a third power-on must boot the
#   disk again without reinstalling.
#
#   whole-boot.sh bios|uefi DROVER BOOT_ENV_DIR TEST_OS_IMAGE
#
# BIOS machines boot the network first: the installed node's script sanboots the disk.
# UEFI machines boot the disk first (E2E_UEFI_ORDER=net-first to try the other way): a blank
# disk falls through to the network, an installed one boots directly. Debian's iPXE cannot
# sanboot a local disk under UEFI, so from the network the script can only exit back to
# the firmware, which then walks its remaining boot entries (minutes on OVMF).
# Exit 77 (skipped) when the boot environment or a tool is missing.
set -euo pipefail
fw=$1 drover=$2 bootenv=$3 image=$4
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

for t in qemu-system-x86_64 curl python3; do
  command -v "$t" >/dev/null || { echo "skipped: $t missing"; exit 77; }
done
[[ -f $bootenv/vmlinuz && -f $bootenv/initrd.img && -f $image ]] ||
  { echo "skipped: boot environment or test OS image missing"; exit 77; }

e2e_init "boot-$fw"
e2e_tap tap0
mac=52:54:00:e2:e0:01
node=e2e-$fw
order=net-first
[[ $fw == uefi ]] && order=${E2E_UEFI_ORDER:-disk-first}
mkdir -p "$E2E_DIR/tftp" "$E2E_DIR/state"
sha=$(sha256sum "$image" | cut -d' ' -f1)
cat > "$E2E_DIR/cluster.yaml" <<YAML
server:
  advertise: 192.0.2.1
  interfaces: [br0]
  tftp: { listen: "0.0.0.0:69", root: $E2E_DIR/tftp }
  http: { listen: "0.0.0.0:8080" }
  api: { listen: "0.0.0.0:8443", tls: auto }
  state: { backend: sqlite, path: $E2E_DIR/state/state.db }
  boot: { ipv6_ra: $([[ ${E2E_IPV6_RA:-1} == 0 ]] && echo false || echo true) }
networks:
  - name: lab
    subnet: 192.0.2.0/24
    pool: 192.0.2.100-192.0.2.199
    gateway: 192.0.2.1
    lease: 1h
images:
  boot-env:
    kernel: { path: $(realpath "$bootenv/vmlinuz") }
    initrd: { path: $(realpath "$bootenv/initrd.img") }
  test-os:
    disk: { path: $(realpath "$image"), sha256: "$sha" }
profiles:
  node:
    install: { image: test-os, disk: /dev/vda }
    join: { runtime: containerd, recipe: etcd-member }
defaults:
  unknown: ignore
nodes:
  - name: $node
    mac: $mac
    ip: 192.0.2.10
    profile: node
YAML
"$drover" validate "$E2E_DIR/cluster.yaml"
e2e_bg "$E2E_DIR/drover.log" "$drover" --log-level info serve --config "$E2E_DIR/cluster.yaml"
for _ in $(seq 1 100); do grep -q SERVE_STARTED "$E2E_DIR/drover.log" && break; sleep 0.1; done
grep -q SERVE_STARTED "$E2E_DIR/drover.log" || { cat "$E2E_DIR/drover.log"; e2e_die "drover serve did not start"; }

api() {
  e2e_ns curl -sf --cacert "$E2E_DIR/state/tls/ca.crt" -H "Authorization: Bearer $(cat "$E2E_DIR/state/operator.token")" \
    "https://192.0.2.1:8443$1"
}
node_state() { api "/v1/nodes/$node" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])'; }
show_failure() {
  e2e_log "drover log (last 40 lines):"; tail -n 40 "$E2E_DIR/drover.log" >&2 || true
  api "/v1/nodes/$node/events" >&2 || true
}
trap 'rc=$?; ((rc)) && show_failure; e2e_cleanup $rc' EXIT

disk=$(e2e_disk "$node" 512M)
# E2E_STREAM=1: the machine's serial console is copied to stdout as it boots.
if [[ -n ${E2E_STREAM:-} ]]; then
  : >"$E2E_DIR/$node.console"
  tail -n +1 -F "$E2E_DIR/$node.console" 2>/dev/null | sed -u 's/\x1b\[[0-9;?]*[A-Za-z]//g' &
  E2E_PIDS+=($!)
fi
t0=$(date +%s.%N)
since() { python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):.1f}')" "$(date +%s.%N)" "$t0"; }

e2e_log "power on #1 ($fw): blank disk"
e2e_qemu "$node" "$fw" "$mac" tap0 "$disk" "$order"
qpid=$E2E_LAST_PID
e2e_wait_console "$node" 'drover|Linux version' 300
e2e_log "kernel running after $(since)s"
e2e_wait_exit "$qpid" "$node"   # the agent reboots; QEMU exits (-no-reboot)
e2e_log "install finished after $(since)s"
[[ $(node_state) == installed ]] || { tail -n 40 "$E2E_DIR/$node.console" >&2; e2e_die "node is $(node_state) after the install boot, want installed"; }
cp "$E2E_DIR/$node.console" "$E2E_DIR/$node.install.console"

e2e_log "power on #2: boots the disk and joins"
e2e_qemu "$node" "$fw" "$mac" tap0 "$disk" "$order"
qpid=$E2E_LAST_PID
e2e_wait_console "$node" 'drover-test-os: join (done|failed)' 600
e2e_wait_exit "$qpid" "$node"
e2e_log "joined after $(since)s"
grep -aq 'drover-test-os: join done' "$E2E_DIR/$node.console" || { tail -n 40 "$E2E_DIR/$node.console" >&2; e2e_die "join failed"; }
[[ $(node_state) == joined ]] || e2e_die "node is $(node_state), want joined"

e2e_log "power on #3: an installed machine boots its disk again, no reinstall"
e2e_qemu "$node" "$fw" "$mac" tap0 "$disk" "$order"
qpid=$E2E_LAST_PID
e2e_wait_console "$node" 'drover-test-os: join (done|failed)' 600
e2e_wait_exit "$qpid" "$node"
[[ $(node_state) == joined ]] || e2e_die "node is $(node_state) after a third power-on, want joined"
installs=$(api "/v1/nodes/$node/events" | python3 -c 'import json,sys; print(sum(1 for e in json.load(sys.stdin) if e["phase"]=="install_started"))')
[[ $installs == 1 ]] || e2e_die "installed $installs times, want once"

e2e_log "timeline of $node:"
api "/v1/nodes/$node/events" | python3 "$here/timeline.py" >&2
e2e_log "PASS: $fw whole boot in $(since)s"
if [[ -n ${E2E_SHOW_NODES:-} ]]; then
  echo
  e2e_ns "$drover" nodes --config "$E2E_DIR/cluster.yaml"
fi
