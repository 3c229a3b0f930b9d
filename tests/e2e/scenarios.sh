#!/usr/bin/env bash
# More whole-boot scenarios on real firmware (SeaBIOS + iPXE ROM), beside whole-boot.sh:
#
#   scenarios.sh discovery DROVER BOOT_ENV_DIR TEST_OS_IMAGE
#       an unknown machine boots the agent in discovery mode and appears as `discovered`
#       with its hardware facts (CPUs, memory, its disk, its NIC)
#   scenarios.sh proxy ...
#       dnsmasq is the site's DHCP server (in a second namespace on the same link) and
#       Drover runs in proxyDHCP mode: the machine takes its address from dnsmasq and its
#       boot answers from Drover, and installs
#   scenarios.sh cluster ...
#       two machines at once, one `master` and one `worker`, install and join: each agent
#       starts containerd and runs its profile's built-in recipe, an etcd member on the
#       master and an etcd proxy on the worker, checked from outside the machines. The
#       worker is on a second network (198.51.100.0/24) that reaches Drover only through a
#       router running ISC dhcrelay: its firmware's DHCP is relayed, and it installs, boots
#       its disk and joins with that network's address and gateway. Both are on the pod
#       network (198.18.0.0/16, VXLAN): each leases a subnet in the master's etcd, and a
#       container on each (busybox nc in containerd, addressed by the CNI bridge and
#       host-local plugins) reaches the other's container by its pod address, across the
#       router
#   scenarios.sh http ...
#       UEFI HTTP boot on a network with no TFTP at all (`drover serve --no-tftp`): OVMF with
#       its PXE turned off (QEMU fw_cfg opt/org.tianocore/IPv4PXESupport and IPv6PXESupport
#       "no") asks DHCP as an HTTPClient, gets ipxe.efi as a URL, runs it; iPXE fetches its
#       script, installs; the disk is first in the boot order, so the second power-on boots
#       the installed disk directly and joins
#   scenarios.sh secureboot ...
#       OVMF with Secure Boot on (Microsoft's keys) and a profile with boot.secure_boot:
#       shim, the signed network GRUB and the signed kernel over TFTP install the machine;
#       its disk boots through the network GRUB and its own shim and GRUB, and the installed
#       OS reports Secure Boot on. Meanwhile an unknown machine with the same firmware is
#       offered iPXE (discovery): the firmware refuses to run it
#   scenarios.sh arm64 ...
#       an arm64 machine (QEMU's virt machine with AAVMF, under TCG) with the network first:
#       its firmware gets Debian's arm64 network GRUB over TFTP, whose grub.cfg boots the
#       arm64 boot environment; it installs the arm64 test OS, then its second power-on
#       reaches the disk through the same GRUB's `local` configuration and joins. The arm64
#       boot environment and test OS come from E2E_ARM64_BOOT_ENV and E2E_ARM64_IMAGE
#
# Exit 77 (skipped) when the boot environment or a tool is missing.
set -euo pipefail
scenario=$1 drover=$2 bootenv=$3
E2E_IMAGE=$4
here=$(cd "$(dirname "$0")" && pwd)
source "$here/lib.sh"

e2e_require "$bootenv" "$E2E_IMAGE"

e2e_init "$scenario"
config=$E2E_DIR/cluster.yaml
e2e_config "$config" "$bootenv"
nodes=()
trap 'rc=$?; ((rc)) && e2e_show_failure "${nodes[@]}"; e2e_cleanup $rc' EXIT

case $scenario in
discovery)
  mac=52:54:00:e2:e0:d1
  node=unknown-${mac//:/}
  nodes=("$node")
  cat >> "$config" <<YAML
networks:
  - { name: lab, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.199, gateway: 192.0.2.1 }
defaults:
  unknown: discover
  boot_env: boot-env
nodes: []
YAML
  e2e_serve "$drover" "$config"
  e2e_tap tap0
  e2e_log "power on: a machine Drover has never seen"
  e2e_qemu "$node" bios "$mac" tap0 "$(e2e_disk "$node" 512M)"
  qpid=$E2E_LAST_PID
  e2e_wait_state "$node" discovered 300
  e2e_api "/v1/nodes/$node" | python3 "$here/check_facts.py" "$mac" 512 1024 >&2
  e2e_kill "$qpid"
  e2e_timeline "$node"
  e2e_log "PASS: discovery"
  ;;

proxy)
  mac=52:54:00:e2:e0:a1
  node=e2e-proxy
  nodes=("$node")
  command -v dnsmasq >/dev/null || { echo "skipped: dnsmasq missing"; exit 77; }
  # The site: dnsmasq at 192.0.2.2 in its own namespace, on the same bridge.
  site="${E2E_NS}-site"
  ip netns add "$site"
  E2E_EXTRA_NS+=("$site")
  ip link add "sitev$$" type veth peer name "sitep$$"
  ip link set "sitev$$" netns "$site"
  ip link set "sitep$$" netns "$E2E_NS"
  e2e_ns ip link set "sitep$$" master br0 up
  ip -n "$site" link set lo up
  ip -n "$site" addr add 192.0.2.2/24 dev "sitev$$"
  ip -n "$site" link set "sitev$$" up
  e2e_bg "$E2E_DIR/dnsmasq.log" ip netns exec "$site" dnsmasq --no-daemon --conf-file=/dev/null --port=0 \
    --interface="sitev$$" --bind-interfaces --dhcp-range=192.0.2.50,192.0.2.90,1h --no-ping \
    --dhcp-leasefile="$E2E_DIR/dnsmasq.leases" --pid-file="$E2E_DIR/dnsmasq.pid" --log-dhcp
  cat >> "$config" <<YAML
networks:
  - { name: site, subnet: 192.0.2.0/24, mode: proxy }
defaults:
  unknown: ignore
nodes:
  - { name: $node, mac: "$mac", profile: node }
YAML
  e2e_serve "$drover" "$config"
  e2e_tap tap0
  disk=$(e2e_disk "$node" 512M)
  e2e_log "power on: address from dnsmasq, boot from Drover (proxyDHCP)"
  e2e_qemu "$node" bios "$mac" tap0 "$disk"
  qpid=$E2E_LAST_PID
  e2e_wait_exit "$qpid" "$node"   # the agent reboots after the install; QEMU exits
  [[ $(e2e_node_state "$node") == installed ]] || e2e_die "node is $(e2e_node_state "$node"), want installed"
  grep -qi "$mac" "$E2E_DIR/dnsmasq.leases" || e2e_die "dnsmasq leased nothing to $mac"
  e2e_log "dnsmasq lease: $(grep -i "$mac" "$E2E_DIR/dnsmasq.leases")"
  e2e_timeline "$node"
  e2e_log "PASS: proxyDHCP install beside dnsmasq"
  ;;

cluster)
  nodes=(e2e-master e2e-worker)
  command -v dhcrelay >/dev/null || { echo "skipped: dhcrelay (isc-dhcp-relay) missing"; exit 77; }
  cat >> "$config" <<YAML
networks:
  - { name: lab, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.199, gateway: 192.0.2.1 }
  - { name: rack2, subnet: 198.51.100.0/24, pool: 198.51.100.100-198.51.100.199, gateway: 198.51.100.1 }
defaults:
  unknown: ignore
pod_network: { cidr: 198.18.0.0/16, subnet_length: 24, backend: vxlan }
nodes:
  - { name: e2e-master, mac: "52:54:00:e2:e0:c1", ip: 192.0.2.11, profile: master }
  - { name: e2e-worker, mac: "52:54:00:e2:e0:c2", ip: 198.51.100.12, profile: worker }
YAML
  e2e_serve "$drover" "$config"
  # rack2: bridge br1, joined to Drover's network only by a router (192.0.2.254 /
  # 198.51.100.1) that forwards packets and relays DHCP to 192.0.2.1.
  router="${E2E_NS}-rt"
  ip netns add "$router"
  E2E_EXTRA_NS+=("$router")
  ip -n "$router" link set lo up
  e2e_ns ip link add br1 type bridge
  e2e_ns ip link set br1 type bridge forward_delay 0 stp_state 0 mcast_snooping 0
  e2e_ns ip link set br1 up
  for leg in a:br0:192.0.2.254 b:br1:198.51.100.1; do
    IFS=: read -r side bridge addr <<<"$leg"
    ip link add "rt$side$$" type veth peer name "br$side$$"
    ip link set "rt$side$$" netns "$router"
    ip link set "br$side$$" netns "$E2E_NS"
    e2e_ns ip link set "br$side$$" master "$bridge" up
    ip -n "$router" addr add "$addr/24" dev "rt$side$$"
    ip -n "$router" link set "rt$side$$" up
  done
  ip netns exec "$router" sysctl -qw net.ipv4.ip_forward=1
  e2e_ns ip route add 198.51.100.0/24 via 192.0.2.254
  e2e_ns sysctl -qw net.ipv4.ip_forward=1   # the master's replies to the worker
  e2e_bg "$E2E_DIR/dhcrelay.log" ip netns exec "$router" dhcrelay -4 -d -id "rtb$$" -iu "rta$$" \
    -pf "$E2E_DIR/dhcrelay.pid" 192.0.2.1
  e2e_tap tap1
  e2e_tap tap2
  e2e_ns ip link set tap2 master br1
  declare -A disk pid
  for i in 1 2; do
    n=${nodes[$((i - 1))]}
    disk[$n]=$(e2e_disk "$n" 512M)
  done
  power_on_both() {
    e2e_log "power on both machines ($1)"
    local i n
    for i in 1 2; do
      n=${nodes[$((i - 1))]}
      e2e_qemu "$n" bios "52:54:00:e2:e0:c$i" "tap$i" "${disk[$n]}"
      pid[$n]=$E2E_LAST_PID
    done
  }
  power_on_both install
  for n in "${nodes[@]}"; do e2e_wait_exit "${pid[$n]}" "$n"; done
  for n in "${nodes[@]}"; do
    [[ $(e2e_node_state "$n") == installed ]] || e2e_die "$n is $(e2e_node_state "$n") after install, want installed"
  done
  # Second power-on: each agent starts containerd and runs the recipe the server rendered
  # (GET /v1/agent/join): etcd-member runs the cluster's one member on the master,
  # etcd-proxy an etcd gateway to it on the worker. The machines stay up serving them
  # until the cluster is checked from this namespace.
  # The agents keep heartbeating (every 2 s, 40 times) as an installed node's do: each
  # heartbeat brings the pod network's routes up to date with the other node's lease.
  E2E_QEMU_ARGS=(-smbios type=1,sku=drover-e2e-heartbeats-40)
  power_on_both join
  for n in "${nodes[@]}"; do
    e2e_wait_console "$n" 'drover-test-os: pods: (a container on|no other|the listening|cannot)' 600
    grep -aq 'drover-test-os: pods: a container on' "$E2E_DIR/$n.console" ||
      { tail -n 40 "$E2E_DIR/$n.console" >&2; e2e_die "$n: its container did not reach the other node's"; }
    e2e_log "$n: $(grep -aE 'drover-test-os: pods: a container on' "$E2E_DIR/$n.console" | tr -d '\r')"
  done
  for n in "${nodes[@]}"; do
    e2e_wait_console "$n" 'drover-test-os: (containers running|join failed|join done)' 900
    e2e_wait_console "$n" 'drover-test-os: (containers running|join failed)' 60
    grep -aq 'drover-test-os: containers running' "$E2E_DIR/$n.console" ||
      { tail -n 40 "$E2E_DIR/$n.console" >&2; e2e_die "$n: join failed or left no container running"; }
    e2e_log "$n: $(grep -aE 'drover-test-os: (join done|containers running)|AGENT_JOIN_STEP' "$E2E_DIR/$n.console" | tr -d '\r' | paste -sd ' ')"
    [[ $(e2e_node_state "$n") == joined ]] || e2e_die "$n is $(e2e_node_state "$n") after join, want joined"
    e2e_check_runtime "$n"
  done
  # The agents ran the steps the server rendered, in order.
  e2e_check_steps e2e-master "etcd data directory" "import etcd image" "join the etcd cluster" \
    "start etcd member" "promote the etcd learner" "join the pod network"
  e2e_check_steps e2e-worker "import etcd image" "start etcd proxy" "join the pod network"
  grep -q "Forwarded BOOTREQUEST" "$E2E_DIR/dhcrelay.log" ||
    { cat "$E2E_DIR/dhcrelay.log" >&2; e2e_die "dhcrelay forwarded nothing"; }
  e2e_api /v1/nodes/e2e-worker/events | grep -q '198\.51\.100\.12' ||
    e2e_die "the worker's timeline names no address on rack2"
  e2e_log "worker: relayed by dhcrelay, address 198.51.100.12 on rack2"
  e2e_ns python3 "$here/check_etcd.py" e2e-master=192.0.2.11 --proxy 198.51.100.12 >&2 ||
    { for n in "${nodes[@]}"; do tail -n 20 "$E2E_DIR/$n.console" >&2; done; e2e_die "the etcd cluster is not whole"; }
  e2e_log "etcd cluster checked"
  e2e_kill "${pid[@]}"
  for n in "${nodes[@]}"; do e2e_timeline "$n"; done
  table=$(e2e_ns "$drover" nodes --config "$config")
  echo "$table" >&2
  joined=$(awk '$2 == "joined"' <<<"$table" | wc -l)
  [[ $joined == 2 ]] || e2e_die "drover nodes shows $joined joined nodes, want 2"
  e2e_log "PASS: master and worker installed and joined: an etcd member and a proxy to it, containers on each reaching the other's over the pod network"
  ;;

http)
  mac=52:54:00:e2:e0:b1
  node=e2e-http
  nodes=("$node")
  cat >> "$config" <<YAML
networks:
  - { name: lab, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.199, gateway: 192.0.2.1 }
defaults:
  unknown: ignore
nodes:
  - { name: $node, mac: "$mac", ip: 192.0.2.13, profile: node }
YAML
  E2E_SERVE_ARGS=(--no-tftp)
  e2e_serve "$drover" "$config"
  e2e_ns ss -Hlun 'sport = :69' | grep -q . && e2e_die "drover serve --no-tftp listens on UDP 69"
  e2e_tap tap0
  disk=$(e2e_disk "$node" 512M)
  # OVMF's network boot options are PXE (IPv4, IPv6) and HTTP (IPv4, IPv6) per NIC; with
  # PXE off, the blank disk failing first, its HTTP boot over IPv4 is what it tries.
  E2E_QEMU_ARGS=(-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=no
                 -fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=no)
  e2e_log "power on #1: UEFI HTTP boot, blank disk first"
  t0=$(e2e_now_ms)
  e2e_qemu "$node" uefi "$mac" tap0 "$disk" disk-first
  qpid=$E2E_LAST_PID
  e2e_wait_exit "$qpid" "$node"   # the agent reboots after the install; QEMU exits
  [[ $(e2e_node_state "$node") == installed ]] || e2e_die "node is $(e2e_node_state "$node"), want installed"
  e2e_log "installed $((($(e2e_now_ms) - t0) / 1000))s after power on"
  e2e_api "/v1/nodes/$node/events" | python3 -c '
import json, sys
ev = json.load(sys.stdin)
first = [e for e in ev if e["phase"] == "dhcp_ack"]
if not first or "arch=16" not in first[0]["message"] or "file=http://" not in first[0]["message"] or not first[0]["message"].rstrip().endswith("ipxe.efi"):
    sys.exit("the first DHCP answer was not an HTTP boot URL for arch 16: %s" % (first[0]["message"] if first else "none"))
if any(e["phase"].startswith("tftp") for e in ev):
    sys.exit("TFTP was used")
print("HTTP boot: %s" % first[0]["message"], file=sys.stderr)'
  e2e_log "power on #2: the installed disk, first in the boot order, boots and joins"
  e2e_qemu "$node" uefi "$mac" tap0 "$disk" disk-first
  qpid=$E2E_LAST_PID
  t1=$(e2e_now_ms)
  e2e_wait_joined "$node" "$qpid"
  [[ $(e2e_events "$node" script_served "$t1") == 0 ]] || e2e_die "the disk-first boot fetched a boot script"
  e2e_log "joined $((($(e2e_now_ms) - t1) / 1000))s after power on #2"
  e2e_timeline "$node"
  e2e_log "PASS: UEFI HTTP boot without TFTP installs; the disk boots and joins"
  ;;

secureboot)
  mac=52:54:00:e2:e0:5b
  node=e2e-sb
  stranger=52:54:00:e2:e0:5c
  nodes=("$node")
  [[ -f /usr/lib/shim/shimx64.efi.signed ]] || { echo "skipped: shim-signed missing"; exit 77; }
  cat >> "$config" <<YAML
  signed:
    install: { image: test-os, disk: /dev/vda }
    boot: { secure_boot: true }
    join: { runtime: containerd }
networks:
  - { name: lab, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.199, gateway: 192.0.2.1 }
defaults:
  unknown: discover
nodes:
  - { name: $node, mac: "$mac", ip: 192.0.2.15, profile: signed }
YAML
  e2e_serve "$drover" "$config"
  e2e_tap tap0
  e2e_tap tap1
  e2e_log "power on #1: Secure Boot on, blank disk; and a machine Drover does not know"
  t0=$(e2e_now_ms)
  e2e_qemu "$node" uefi-sb "$mac" tap0 "$(e2e_disk "$node" 512M)"
  qpid=$E2E_LAST_PID
  e2e_qemu stranger uefi-sb "$stranger" tap1 "$(e2e_disk stranger 64M)"
  spid=$E2E_LAST_PID
  # The stranger is given iPXE (discovery) over TFTP; Secure Boot must not run it, so iPXE
  # never asks for its script: 20 s after the transfer (iPXE would have asked within 5 s)
  # it is switched off.
  for _ in $(seq 1 120); do
    grep -q "file=ipxe.efi result=ok" "$E2E_DIR/drover.log" && break
    sleep 1
  done
  grep -q "file=ipxe.efi result=ok" "$E2E_DIR/drover.log" || e2e_die "the unknown machine fetched no ipxe.efi"
  sleep 20
  if grep -q "SCRIPT_SERVED node=unknown-${stranger//:/} " "$E2E_DIR/drover.log"; then
    e2e_die "the unknown machine ran the unsigned iPXE under Secure Boot"
  fi
  e2e_kill "$spid"
  e2e_log "unknown machine: ipxe.efi transferred, never ran (no script asked for in 20 s); switched off"
  e2e_wait_exit "$qpid" "$node"   # the agent reboots after the install; QEMU exits
  [[ $(e2e_node_state "$node") == installed ]] || e2e_die "node is $(e2e_node_state "$node"), want installed"
  e2e_log "installed through the signed chain $((($(e2e_now_ms) - t0) / 1000))s after power on"
  e2e_api "/v1/nodes/$node/events" | python3 -c '
import json, sys
ev = json.load(sys.stdin)
acks = [e["message"] for e in ev if e["phase"] == "dhcp_ack"]
if not acks or not acks[0].endswith("file=shimx64.efi"):
    sys.exit("the first answer was not shimx64.efi: %s" % (acks[:1],))
got = [e["message"].split()[0] for e in ev if e["phase"] == "tftp_done"]
for want in ("shimx64.efi", "grubx64.efi", "drover/boot-env/kernel", "drover/boot-env/initrd"):
    if want not in got:
        sys.exit("%s was not transferred over TFTP: %s" % (want, got))
if any("ipxe" in e["message"] for e in ev if e["phase"] in ("tftp_done", "dhcp_ack", "script_served")):
    sys.exit("iPXE was offered to a Secure Boot profile")
if not any(e["message"] == "grub install (x86_64 efi, signed chain)" for e in ev if e["phase"] == "script_served"):
    sys.exit("no signed-chain install configuration was served")
print("signed chain: " + ", ".join(got), file=sys.stderr)'
  e2e_log "power on #2: the installed disk through the network GRUB, its shim and GRUB"
  t1=$(e2e_now_ms)
  e2e_qemu "$node" uefi-sb "$mac" tap0 "$E2E_DIR/$node.raw"
  qpid=$E2E_LAST_PID
  e2e_wait_joined "$node" "$qpid"
  e2e_wait_event "$node" secure_boot "$t1" 10 "on" >/dev/null
  e2e_log "joined with Secure Boot on $((($(e2e_now_ms) - t1) / 1000))s after power on #2"
  e2e_timeline "$node"
  e2e_log "PASS: Secure Boot through Debian's signed chain installs, boots its disk and joins"
  ;;

arm64)
  mac=52:54:00:e2:e0:a6
  node=e2e-arm64
  nodes=("$node")
  abe=${E2E_ARM64_BOOT_ENV:-} aimg=${E2E_ARM64_IMAGE:-}
  [[ -f $abe/vmlinuz && -f $abe/initrd.img && -f $aimg ]] ||
    { echo "skipped: no arm64 boot environment or test OS (E2E_ARM64_BOOT_ENV, E2E_ARM64_IMAGE)"; exit 77; }
  command -v qemu-system-aarch64 >/dev/null || { echo "skipped: qemu-system-arm missing"; exit 77; }
  [[ -f /usr/share/AAVMF/AAVMF_CODE.fd ]] || { echo "skipped: qemu-efi-aarch64 missing"; exit 77; }
  [[ -f /usr/lib/grub/arm64-efi-signed/grubnetaa64.efi.signed ]] ||
    { echo "skipped: grub-efi-arm64-signed:arm64 missing"; exit 77; }
  asha=$(sha256sum "$aimg" | cut -d' ' -f1)
  # The arm64 boot environment and OS image beside the x64 ones; a profile without a join
  # recipe (TCG is slow: the join is the agent's report from the installed OS).
  cat > "$E2E_DIR/arm64-images.yaml" <<YAML
  boot-env-arm64:
    kernel: { path: $(realpath "$abe/vmlinuz") }
    initrd: { path: $(realpath "$abe/initrd.img") }
  test-os-arm64:
    disk: { path: $(realpath "$aimg"), sha256: "$asha" }
YAML
  sed -i "/^images:/r $E2E_DIR/arm64-images.yaml" "$config"
  cat >> "$config" <<YAML
  arm:
    install: { image: test-os-arm64, disk: /dev/vda }
networks:
  - { name: lab, subnet: 192.0.2.0/24, pool: 192.0.2.100-192.0.2.199, gateway: 192.0.2.1 }
defaults:
  unknown: ignore
  boot_env_arm64: boot-env-arm64
nodes:
  - { name: $node, mac: "$mac", ip: 192.0.2.16, profile: arm }
YAML
  e2e_serve "$drover" "$config"
  e2e_tap tap0
  disk=$(e2e_disk "$node" 512M)
  e2e_log "power on #1: arm64 UEFI (AAVMF under TCG), blank disk, network first"
  t0=$(e2e_now_ms)
  e2e_qemu "$node" arm64 "$mac" tap0 "$disk"
  qpid=$E2E_LAST_PID
  e2e_wait_exit "$qpid" "$node" 1500   # the agent reboots after the install; QEMU exits
  [[ $(e2e_node_state "$node") == installed ]] || e2e_die "node is $(e2e_node_state "$node"), want installed"
  e2e_log "installed $((($(e2e_now_ms) - t0) / 1000))s after power on"
  e2e_api "/v1/nodes/$node/events" | python3 -c '
import json, sys
ev = json.load(sys.stdin)
acks = [e["message"] for e in ev if e["phase"] == "dhcp_ack"]
if not acks or "arch=11" not in acks[0] or not acks[0].endswith("file=grubnetaa64.efi"):
    sys.exit("the first answer was not the arm64 network GRUB for arch 11: %s" % (acks[:1],))
got = [e["message"].split()[0] for e in ev if e["phase"] == "tftp_done"]
for want in ("grubnetaa64.efi", "drover/boot-env-arm64/kernel", "drover/boot-env-arm64/initrd"):
    if want not in got:
        sys.exit("%s was not transferred over TFTP: %s" % (want, got))
if not any(e["message"] == "grub install (arm64 efi)" for e in ev if e["phase"] == "script_served"):
    sys.exit("no arm64 install configuration was served")
print("arm64 chain: " + ", ".join(got), file=sys.stderr)'
  e2e_log "power on #2: the network GRUB's local configuration starts the disk's BOOTAA64.EFI"
  t1=$(e2e_now_ms)
  e2e_qemu "$node" arm64 "$mac" tap0 "$disk"
  qpid=$E2E_LAST_PID
  e2e_wait_event "$node" script_served "$t1" 600 "grub local (arm64 efi)" >/dev/null
  e2e_wait_joined "$node" "$qpid"
  e2e_log "joined $((($(e2e_now_ms) - t1) / 1000))s after power on #2"
  e2e_timeline "$node"
  e2e_log "PASS: arm64 UEFI installs through the arm64 network GRUB, boots its disk and joins"
  ;;

*) echo "usage: $0 discovery|proxy|cluster|http|secureboot|arm64 DROVER BOOT_ENV_DIR TEST_OS_IMAGE" >&2; exit 2 ;;
esac
